// Starts a Node HTTP server on loopback and prints `ready PORT` once it listens. The port is
// the first argument; 0 (the default) takes a free port, and the line tells which.
export const port = Number(process.argv[2] ?? 0);

export function announce(server) {
  console.log(`ready ${server.address().port}`);
}

export function listen(server) {
  server.listen(port, '127.0.0.1', () => announce(server));
}
