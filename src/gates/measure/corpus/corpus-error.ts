// The one error the corpus code throws: a stable code to branch on and a message that says what to fix.

/** Thrown for bad options, a bad corpus file or missing webhook examples; `code` is stable, `message` says what to fix. */
export class CorpusError extends Error {
  constructor(
    readonly code: "corpus_options_invalid" | "corpus_file_unreadable" | "corpus_file_invalid" | "corpus_examples_missing",
    message: string,
  ) {
    super(message);
    this.name = "CorpusError";
  }
}
