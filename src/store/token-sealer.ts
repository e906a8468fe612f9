/**
 * Tokens at rest: AES-256-GCM (node:crypto) under keys from configuration. Keys are a list, newest
 * first: sealing uses the newest, opening finds the key by the id written with the sealed text, so
 * a new key can be put in front while text sealed under the older ones still opens (and is sealed
 * again under the newest when next written). The id is a hash prefix, never the key.
 *
 * Sealed text: `v1.<key id>.<iv>.<auth tag>.<ciphertext>`, each part base64url. `aad` binds the
 * text to where it is kept (the store key), so a sealed value copied to another key does not open.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;

export class TokenSealError extends Error {
  override readonly name = 'TokenSealError';
}

export class TokenSealer {
  readonly #keys: Array<{ id: string; key: Buffer }>;

  /** `keys`: 32-byte keys, newest first (at least one). */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new TokenSealError('at least one encryption key is required');
    for (const key of keys)
      if (key.length !== 32) throw new TokenSealError('each encryption key must be 32 bytes');
    this.#keys = keys.map((key) => ({ id: keyId(key), key }));
  }

  seal(plain: string, aad: string): string {
    const newest = this.#keys[0] as { id: string; key: Buffer };
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, newest.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', newest.id, b64(iv), b64(cipher.getAuthTag()), b64(sealed)].join('.');
  }

  /** The plain text; throws TokenSealError when no configured key opens it or it was altered. */
  open(text: string, aad: string): string {
    const [version, id, iv, tag, sealed] = text.split('.');
    if (version !== 'v1' || !id || iv === undefined || tag === undefined || sealed === undefined)
      throw new TokenSealError('not a sealed token');
    const entry = this.#keys.find((candidate) => candidate.id === id);
    if (!entry) throw new TokenSealError('sealed under a key that is no longer configured');
    try {
      const decipher = createDecipheriv(ALGORITHM, entry.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch (error) {
      throw new TokenSealError('sealed token does not open (altered, or another key)', { cause: error });
    }
  }

  /** Whether `text` was sealed under an older key (worth sealing again under the newest). */
  isStale(text: string): boolean {
    return text.split('.')[1] !== this.#keys[0]?.id;
  }
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64url');
}
