/**
 * Scales an image down to Converse's limit on each side (8,000 pixels, model-inputs.ts) with sharp
 * (libvips: decodes and resizes without holding the full image twice, and refuses images of more
 * than about 268 million pixels, so a decompression bomb is left out rather than expanded). An
 * image within the limit goes unchanged; one that cannot be decoded, or is still too large in bytes
 * once scaled, is left out with the reason.
 */
import type { FormatEnum } from 'sharp';
import type { ImageFitter } from '../conversation/ports.ts';

type Sharp = typeof import('sharp').default;

export class SharpImageFitter implements ImageFitter {
  /** sharp, and libvips with it, is loaded with the first image, not at start: most answers carry none. */
  #sharp: Promise<Sharp> | null = null;

  async fit(
    image: { format: string; bytes: Uint8Array },
    limits: { maxSide: number; maxBytes: number },
  ): Promise<{ bytes: Uint8Array } | { why: string }> {
    this.#sharp ??= import('sharp').then((module) => module.default);
    const sharp = await this.#sharp;
    const unreadable = { why: `it is not a readable ${image.format} image` };
    const size = await sharp(image.bytes)
      .metadata()
      .catch(() => null);
    // An animated image's frames are stacked: each frame is pageHeight tall.
    const height = size?.pageHeight ?? size?.height;
    if (!size?.width || !height) return unreadable;
    if (size.width <= limits.maxSide && height <= limits.maxSide) return { bytes: image.bytes };
    const scaled = await sharp(image.bytes)
      .resize({ width: limits.maxSide, height: limits.maxSide, fit: 'inside' })
      .toFormat(image.format as keyof FormatEnum)
      .toBuffer()
      .catch(() => null);
    if (!scaled) return unreadable;
    const side = `${limits.maxSide.toLocaleString('en-US')} pixels a side`;
    if (scaled.length > limits.maxBytes)
      return { why: `scaled down to ${side} it is still larger than ${limits.maxBytes / 1_000_000} MB` };
    return { bytes: new Uint8Array(scaled.buffer, scaled.byteOffset, scaled.length) };
  }
}
