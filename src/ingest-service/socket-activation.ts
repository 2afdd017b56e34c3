// Socket activation, systemd's protocol: whoever starts the service may hand it a listening socket
// (LISTEN_FDS=1 for this process's LISTEN_PID means fd 3), and the service then accepts on it instead of
// --host/--port. The gate's sealed room starts the service this way: the socket lives on the runner's
// loopback, outside the room's network, and cannot be used to connect anywhere.

/** The socket passed to this process (fd 3), null when none was passed. */
export function socketActivation(
  env: Record<string, string | undefined>,
): { fd: number } | { code: "bad_socket_activation"; message: string } | null {
  if (env.LISTEN_FDS === undefined) return null;
  // LISTEN_PID names the process the sockets are for: a child that inherited the variables is not it.
  if (env.LISTEN_PID !== undefined && env.LISTEN_PID !== String(process.pid)) return null;
  if (env.LISTEN_FDS !== "1") {
    return {
      code: "bad_socket_activation",
      message: `LISTEN_FDS=${env.LISTEN_FDS}: the service listens on exactly one socket; pass one (LISTEN_FDS=1, the socket as fd 3)`,
    };
  }
  return { fd: 3 };
}
