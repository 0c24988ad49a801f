/**
 * Relays the signals the CLI receives to the container (through the runtime's `kill` frame), so
 * `kill -TERM <nsbox pid>` and ^C reach the command the way they would reach it under docker.
 */
import type { Container } from 'nsbox';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Installs the relays; the returned function removes them. */
export function forwardSignals(container: Container): () => void {
  const relays = FORWARDED.map((sig) => {
    const relay = () => void container.kill(sig);
    process.on(sig, relay);
    return [sig, relay] as const;
  });
  return () => {
    for (const [sig, relay] of relays) process.off(sig, relay);
  };
}
