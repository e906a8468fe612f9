/** The Slack stand-in's OAuth installs, driven by Slack's own WebClient as the bot drives them. */
import { WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSlack } from './fake-slack.ts';

let fake: FakeSlack;
afterEach(async () => {
  await fake?.stop();
});

const options = () => ({ slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });

/** A person approves on the consent page; the code the stand-in sends back. */
async function approve(grant: Parameters<FakeSlack['oauth']['nextInstall']>[0]): Promise<string> {
  fake.oauth.nextInstall(grant);
  const consent = new URL('/oauth/v2/authorize', fake.baseUrl);
  consent.searchParams.set('client_id', fake.oauth.clientId);
  consent.searchParams.set('scope', 'chat:write');
  consent.searchParams.set('redirect_uri', 'https://bot.example/slack/oauth_redirect');
  consent.searchParams.set('state', 's1');
  const response = await fetch(consent, { redirect: 'manual' });
  const back = new URL(response.headers.get('location') ?? '');
  expect(back.searchParams.get('state')).toBe('s1');
  return back.searchParams.get('code') ?? '';
}

describe('FakeSlack OAuth installs', () => {
  it('exchanges a code once for a bot token that auth.test knows as its workspace', async () => {
    fake = await FakeSlack.start();
    const code = await approve({ teamId: 'T0009' });
    const client = new WebClient(undefined, options());
    const secrets = { client_id: fake.oauth.clientId, client_secret: fake.oauth.clientSecret };

    const granted = await client.oauth.v2.access({ ...secrets, code });
    const reused = await client.oauth.v2
      .access({ ...secrets, code })
      .catch((error: { data?: { error?: string } }) => error.data);
    const who = await new WebClient(granted.access_token, options()).auth.test();

    expect(granted.team?.id).toBe('T0009');
    expect(reused?.error).toBe('invalid_code');
    expect(who.team_id).toBe('T0009');
  });

  it('installs org-wide and rotates tokens with a refresh token spent by its use', async () => {
    fake = await FakeSlack.start();
    const code = await approve({
      enterpriseId: 'E0009',
      orgWide: true,
      tokenRotation: true,
      tokenLifetimeS: 600,
    });
    const client = new WebClient(undefined, options());
    const secrets = { client_id: fake.oauth.clientId, client_secret: fake.oauth.clientSecret };

    const granted = await client.oauth.v2.access({ ...secrets, code });
    const refresh = {
      ...secrets,
      grant_type: 'refresh_token' as const,
      refresh_token: granted.refresh_token ?? '',
    };
    const refreshed = await client.oauth.v2.access(refresh);
    const again = await client.oauth.v2
      .access(refresh)
      .catch((error: { data?: { error?: string } }) => error.data);
    const who = await new WebClient(refreshed.access_token, options()).auth.test();

    expect(granted.is_enterprise_install).toBe(true);
    expect(granted.expires_in).toBe(600);
    expect(refreshed.access_token).not.toBe(granted.access_token);
    expect(again?.error).toBe('invalid_refresh_token');
    expect(who.enterprise_id).toBe('E0009');
    expect(who.is_enterprise_install).toBe(true);
  });

  it('refuses a revoked token after an uninstall', async () => {
    fake = await FakeSlack.start();
    const code = await approve({ teamId: 'T0009' });
    const secrets = { client_id: fake.oauth.clientId, client_secret: fake.oauth.clientSecret };
    const granted = await new WebClient(undefined, options()).oauth.v2.access({ ...secrets, code });

    fake.oauth.revoke({ teamId: 'T0009' });
    const refused = await new WebClient(granted.access_token, options()).auth
      .test()
      .catch((error: { data?: { error?: string } }) => error.data);

    expect(refused?.error).toBe('token_revoked');
  });
});
