/**
 * The value rules the configuration schema (config.ts) is written in: empty strings as unset,
 * id and host lists, booleans and bounded integers with defaults, prices in USD per million tokens.
 * Each rule's message names the rule, never the value (values can be secrets).
 */
import { z } from 'zod';
import { normaliseHostName } from './slack/render/host-names.ts';

export const emptyToUndefined = (value: unknown) => (value === '' ? undefined : value);
export const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
export const idList = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .optional()
    .transform((raw) =>
      raw
        ? raw
            .split(',')
            .map((id) => id.trim())
            .filter(Boolean)
        : [],
    ),
);
/** Comma-separated host names, each trusting itself and its subdomains. */
export const hostList = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const entries = (raw ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean);
      const hosts = entries.map(normaliseHostName);
      if (hosts.some((host) => host === null)) {
        ctx.issues.push({
          code: 'custom',
          input: raw,
          message: 'must be comma-separated host names such as docs.example.com (no scheme, path or port)',
        });
        return z.NEVER;
      }
      return hosts as string[];
    }),
);
export const bool = (fallback: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((raw) => raw === 'true' || raw === '1'),
  );
export const int = (fallback: number, min: number, max: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).default(fallback));
export const usd = z.preprocess(
  emptyToUndefined,
  z.coerce.number().positive('must be a positive amount').optional(),
);

/** USD per million tokens; cache prices default to the input price (no discount assumed). */
export const priceSchema = z.object({
  input: z.number().min(0),
  output: z.number().min(0),
  cacheRead: z.number().min(0).optional(),
  cacheWrite: z.number().min(0).optional(),
});
export type ModelPrice = z.infer<typeof priceSchema>;
export const prices = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (!raw) return {};
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(z.string(), priceSchema, {
        error: 'must map model ids to {input, output, cacheRead?, cacheWrite?} in USD per million tokens',
      }),
    ),
);
