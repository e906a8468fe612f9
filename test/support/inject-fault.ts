/**
 * Loaded into a bot process by a test (`node --import`), never by the bot itself: on SIGUSR2 it
 * throws from a callback, or with INJECT_FAULT=rejection rejects a promise that nobody handles, as a
 * programming error somewhere in the bot would.
 */
process.on('SIGUSR2', () => {
  const error = new Error('injected fault (token xoxb-1-injected-secret)');
  if (process.env.INJECT_FAULT === 'rejection') void Promise.reject(error);
  else
    setImmediate(() => {
      throw error;
    });
});
