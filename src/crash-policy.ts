/**
 * What the process does when a programming error escapes every handler. An uncaught exception
 * leaves it in an unknown state (a lock never released, an answer half written, a listener gone),
 * so it logs the error at fatal and exits with 70 (EX_SOFTWARE) for the orchestrator to restart it,
 * instead of running on. An unhandled promise rejection is treated the same way: that is Node's own
 * default since v15 (it raises the rejection as an uncaught exception, `origin:
 * "unhandledRejection"`), and a rejection nobody handled is as much a lost error as a throw. The
 * fatal line reaches the log: pino writes its destination out synchronously when the process exits.
 */
import type { Logger } from './logger.ts';

/** Exit code after an uncaught exception or unhandled rejection (sysexits EX_SOFTWARE). */
export const EXIT_AFTER_CRASH = 70;

export function exitOnCrash(logger: Logger): void {
  process.on('uncaughtException', (error, origin) => {
    logger.fatal({ err: error, origin }, 'uncaught error: exiting so that the process is restarted');
    process.exit(EXIT_AFTER_CRASH);
  });
}
