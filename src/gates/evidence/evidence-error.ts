// The one error the evidence bundle code throws: a code to branch on and a message naming the file or command that fixes it.

export class EvidenceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "EvidenceError";
  }
}
