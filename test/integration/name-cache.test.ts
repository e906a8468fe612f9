/**
 * The names the bot shows for `<@U…>` mentions come from users.info and are cached: bounded (the
 * least recently used name goes first) and for an hour. Counted by the users.info calls the Slack
 * stand-in sees.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { SlackApi } from '../../src/slack/slack-api.ts';
import { SlackPeople, type SlackPeopleOptions } from '../../src/slack/slack-people.ts';
import { FakeSlack } from '../stand-ins/fake-slack.ts';

let slack: FakeSlack | undefined;
afterEach(async () => {
  await slack?.stop();
  slack = undefined;
});

async function peopleOnStandIn(cache: SlackPeopleOptions) {
  slack = await FakeSlack.start();
  for (const n of [1, 2, 3, 4]) slack.addUser({ id: `U10${n}`, name: `person${n}` });
  const logger = createLogger({ level: 'silent' });
  const api = new SlackApi({
    token: slack.botToken,
    apiUrl: slack.apiUrl,
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
  });
  const fake = slack;
  return { people: new SlackPeople(api, logger, cache), lookups: () => fake.callsTo('users.info').length };
}

describe('the name cache', () => {
  it('keeps the names in use and forgets the least recently used one past its bound', async () => {
    const { people, lookups } = await peopleOnStandIn({ maxNames: 3 });
    for (const id of ['U101', 'U102', 'U103']) await people.nameOf(id);
    await people.nameOf('U101'); // used again: now the most recent

    expect(await people.nameOf('U104')).toBe('person4'); // past the bound: U102 goes
    const afterFour = lookups();
    for (const id of ['U101', 'U103', 'U104']) await people.nameOf(id);
    const cachedOnes = lookups() - afterFour;
    await people.nameOf('U102');

    expect(afterFour).toBe(4);
    expect(cachedOnes).toBe(0);
    expect(lookups()).toBe(5);
  });

  it('looks a name up again once it is an hour old', async () => {
    let nowMs = 1_000_000;
    const { people, lookups } = await peopleOnStandIn({ now: () => nowMs });
    await people.nameOf('U101');
    nowMs += 59 * 60_000;
    await people.nameOf('U101');
    const withinTheHour = lookups();
    nowMs += 2 * 60_000;
    await people.nameOf('U101');

    expect(withinTheHour).toBe(1);
    expect(lookups()).toBe(2);
  });
});
