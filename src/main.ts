/**
 * The process: reads the environment (and `.env`), starts the bot, and shuts it down gracefully on
 * SIGTERM/SIGINT; an uncaught error ends it (see crash-policy.ts). Run it with `node` directly in
 * containers: npm does not forward SIGTERM.
 */
import { config as loadDotEnv } from 'dotenv';
import { startBot } from './bot.ts';
import { ConfigError, loadConfig } from './config.ts';
import { exitOnCrash } from './crash-policy.ts';
import { createLogger } from './logger.ts';

loadDotEnv({ quiet: true });

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee docs/configuration.md.\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger({ level: config.log.level });
  exitOnCrash(logger);

  let bot: Awaited<ReturnType<typeof startBot>>;
  try {
    bot = await startBot(config, { logger });
  } catch (error) {
    logger.fatal({ err: error }, 'the bot could not start');
    logger.flush();
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
    return;
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    bot.shutdown().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
