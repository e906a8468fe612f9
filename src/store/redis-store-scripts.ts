/**
 * The store's atomic steps, as Lua scripts run on the Redis server (each in lua/, with its keys and
 * arguments described at its top), and the commands they become on the ioredis client. One
 * thread's keys share a hash tag, so every script's keys live on one cluster slot.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/** A script beside this module (copied into dist/ by the build). */
function lua(name: string): string {
  return readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
}

const extendLockLua = lua('extend-lock.lua');
const releaseLockLua = lua('release-lock.lua');
const acquireLockAndGetLua = lua('acquire-lock-and-get.lua');
const admitLua = lua('admit.lua');
const takePausedLua = lua('take-paused.lua');
const addParticipantLua = lua('add-participant.lua');
const membershipLua = lua('membership.lua');
const commitThreadLua = lua('commit-thread.lua');
const updateSettingsLua = lua('update-settings.lua');
const addUsageLua = lua('add-usage.lua');
const getUsageLua = lua('get-usage.lua');

/** The commands defineCommand adds to the client (ioredis runs them as EVALSHA). */
export interface StoreScripts {
  slackbotAdmit(
    claimKey: string,
    lockKey: string,
    stateKey: string,
    usersKey: string,
    claimTtlMs: number,
    userId: string,
    usersTtlMs: number,
    token: string,
    lockTtlMs: number,
  ): Promise<[number, number?, (string | null)?]>;
  slackbotAcquireLockAndGet(
    lockKey: string,
    stateKey: string,
    usersKey: string,
    token: string,
    ttlMs: number,
    userId: string,
    usersTtlMs: number,
  ): Promise<[number, (string | null)?]>;
  slackbotAddParticipant(usersKey: string, userId: string, ttlMs: number): Promise<number>;
  slackbotMembership(usersKey: string, stateKey: string, userId: string): Promise<[number, number]>;
  slackbotTakePaused(pausedKey: string, approvalId: string): Promise<string | null>;
  slackbotExtendLock(lockKey: string, token: string, ttlMs: number): Promise<number>;
  slackbotReleaseLock(lockKey: string, token: string): Promise<number>;
  slackbotCommitThread(
    lockKey: string,
    stateKey: string,
    usersKey: string,
    token: string,
    stateJson: string,
    ttlMs: number,
  ): Promise<number>;
  slackbotUpdateSettings(settingsKey: string, ...args: string[]): Promise<string[]>;
  slackbotAddUsage(numberOfKeys: number, ...keysAndArgs: string[]): Promise<number>;
  slackbotGetUsage(numberOfKeys: number, ...keys: string[]): Promise<string[][]>;
}

/** Adds the store's scripts to the client as commands (ioredis runs them as EVALSHA). */
export function defineStoreScripts(client: Redis | Cluster): StoreScripts {
  client.defineCommand('slackbotAdmit', { numberOfKeys: 4, lua: admitLua });
  client.defineCommand('slackbotAcquireLockAndGet', { numberOfKeys: 3, lua: acquireLockAndGetLua });
  client.defineCommand('slackbotAddParticipant', { numberOfKeys: 1, lua: addParticipantLua });
  client.defineCommand('slackbotMembership', { numberOfKeys: 2, lua: membershipLua });
  client.defineCommand('slackbotTakePaused', { numberOfKeys: 1, lua: takePausedLua });
  client.defineCommand('slackbotExtendLock', { numberOfKeys: 1, lua: extendLockLua });
  client.defineCommand('slackbotReleaseLock', { numberOfKeys: 1, lua: releaseLockLua });
  client.defineCommand('slackbotCommitThread', { numberOfKeys: 3, lua: commitThreadLua });
  client.defineCommand('slackbotUpdateSettings', { numberOfKeys: 1, lua: updateSettingsLua });
  // The number of keys varies (one per scope): given with each call.
  client.defineCommand('slackbotAddUsage', { lua: addUsageLua });
  client.defineCommand('slackbotGetUsage', { lua: getUsageLua });
  return client as unknown as StoreScripts;
}
