import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  baseModelId,
  familyOf,
  MODEL_FAMILIES,
  ModelCapabilityBook,
  type ModelFamily,
  type ModelFeature,
  refusedFeature,
  UNKNOWN_FAMILY,
} from '../../src/bedrock/model-capabilities.ts';
import { configuredModelInputs, inputsOf, modelInputsFor } from '../../src/bedrock/model-inputs.ts';

const error = (name: string, message: string) => Object.assign(new Error(message), { name });
const used = (...features: ModelFeature[]) => new Set<ModelFeature>(features);

describe('model families', () => {
  it.each([
    ['anthropic.claude-sonnet-4-5-20250929-v1:0', 'Anthropic Claude 3.5 Haiku, 3.7 Sonnet, 4 and later'],
    ['us.anthropic.claude-haiku-4-5-20251001-v1:0', 'Anthropic Claude 3.5 Haiku, 3.7 Sonnet, 4 and later'],
    [
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-6',
      'Anthropic Claude 3.5 Haiku, 3.7 Sonnet, 4 and later',
    ],
    ['anthropic.claude-3-haiku-20240307-v1:0', 'Anthropic Claude 3'],
    ['amazon.titan-text-express-v1', 'Amazon Titan Text'],
    ['mistral.mistral-7b-instruct-v0:2', 'Mistral 7B and Mixtral 8x7B'],
    ['mistral.mistral-large-2407-v1:0', 'Mistral Large and Small'],
    ['us.meta.llama3-3-70b-instruct-v1:0', 'Meta Llama 3.1 and later'],
    ['eu.amazon.nova-pro-v1:0', 'Amazon Nova'],
    ['acme.brand-new-model-v1', 'other models'],
  ])('reads %s as %s', (modelId, family) => {
    expect(familyOf(modelId).name).toBe(family);
  });

  it('strips ARN wrapping and cross-region prefixes from a model id', () => {
    expect(baseModelId('apac.amazon.nova-lite-v1:0')).toBe('amazon.nova-lite-v1:0');
    expect(baseModelId('arn:aws:bedrock:eu-west-1::foundation-model/mistral.mistral-7b-instruct-v0:2')).toBe(
      'mistral.mistral-7b-instruct-v0:2',
    );
  });
});

describe('refusals that name a feature', () => {
  it('reads Bedrock’s refusal of a system prompt, and of a cachePoint (an AccessDeniedException)', () => {
    const system = error(
      'ValidationException',
      "This model doesn't support system messages. Try again without a system message or use a model that supports system messages.",
    );
    const cache = error(
      'AccessDeniedException',
      'You invoked an unsupported model or your request did not allow prompt caching. See the documentation for more information.',
    );

    expect(refusedFeature(system, used('system', 'promptCache'))).toBe('system');
    expect(refusedFeature(cache, used('system', 'promptCache'))).toBe('promptCache');
  });

  it('names no feature the request did not use, nor for other errors, nor ever a guardrail', () => {
    const system = error('ValidationException', "This model doesn't support system messages.");

    expect(refusedFeature(system, used('promptCache'))).toBeNull();
    expect(
      refusedFeature(error('AccessDeniedException', "You don't have access to the model."), used('system')),
    ).toBeNull();
    expect(
      refusedFeature(
        error('ValidationException', 'The guardrail does not support system messages.'),
        used('system'),
      ),
    ).toBeNull();
  });

  it('reads a refusal of images or documents, but not a bad file, as the model not reading them', () => {
    const images = error(
      'ValidationException',
      "This model doesn't support the image field for user messages.",
    );
    const badFile = error(
      'ValidationException',
      'The model returned the following errors: The provided image does not match the specified image format.',
    );
    const documents = error('ValidationException', 'Document chat is not supported for this model.');

    expect(refusedFeature(images, used('system', 'images'))).toBe('images');
    expect(refusedFeature(badFile, used('system', 'images'))).toBeNull();
    expect(refusedFeature(documents, used('documents'))).toBe('documents');
    expect(refusedFeature(images, used('system'))).toBeNull();
  });

  it('remembers what a model refused, for that model only', () => {
    const book = new ModelCapabilityBook();

    const first = book.learn('acme.model-v1', 'system');
    const again = book.learn('acme.model-v1', 'system');

    expect([first, again]).toEqual([true, false]);
    expect(book.capabilitiesOf('acme.model-v1').system).toBe(false);
    expect(book.capabilitiesOf('acme.other-v1').system).toBe(true);
  });
});

describe('what a model reads besides text', () => {
  it('comes from the capability table, with Converse’s formats and limits', () => {
    const claude = modelInputsFor('us.anthropic.claude-sonnet-4-5-20250929-v1:0');
    const titan = modelInputsFor('amazon.titan-text-express-v1');
    const micro = modelInputsFor('amazon.nova-micro-v1:0');

    expect(claude.imageFormats).toEqual(['png', 'jpeg', 'gif', 'webp']);
    expect(claude.documentFormats).toContain('pdf');
    expect(claude).toMatchObject({ maxImageBytes: 3_750_000, maxDocumentsPerRequest: 5 });
    expect([titan.imageFormats, titan.documentFormats.length > 0]).toEqual([[], true]);
    expect([micro.imageFormats, micro.documentFormats]).toEqual([[], []]);
  });

  it('follows BEDROCK_MODEL_INPUTS for the configured model, and narrows with what Bedrock refused', () => {
    const book = new ModelCapabilityBook({
      overrides: { 'acme.model-v1': { images: false, documents: true } },
    });

    expect(
      configuredModelInputs('us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'text').imageFormats,
    ).toEqual([]);
    expect(configuredModelInputs('amazon.nova-micro-v1:0', 'image,document').imageFormats).toHaveLength(4);
    expect(inputsOf(book.capabilitiesOf('acme.model-v1')).imageFormats).toEqual([]);
    book.learn('acme.model-v1', 'documents');
    expect(inputsOf(book.capabilitiesOf('acme.model-v1')).documentFormats).toEqual([]);
    expect(inputsOf(book.capabilitiesOf('acme.other-v1')).imageFormats).toHaveLength(4);
  });
});

/** One row of the model table in docs/models.md, as it must read. */
function row(family: ModelFamily): string {
  const c = family.capabilities;
  const yes = (value: boolean) => (value ? 'yes' : 'no');
  const tools = c.tools ? (c.streamingTools ? 'yes' : 'not streaming') : 'no';
  return `| ${family.name} | ${c.system ? 'native' : 'first turn'} | ${yes(c.promptCache)} | ${tools} | ${yes(c.documents)} | ${yes(c.images)} |`;
}

describe('the models guide (docs/models.md)', () => {
  it('lists what each model family gets, as the capability table says', () => {
    const guide = readFileSync(new URL('../../docs/models.md', import.meta.url), 'utf8');

    const missing = [...MODEL_FAMILIES, UNKNOWN_FAMILY].map(row).filter((line) => !guide.includes(line));

    expect(missing).toEqual([]);
  });
});
