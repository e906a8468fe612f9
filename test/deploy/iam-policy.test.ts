/**
 * deploy/iam-policy.json: the least privilege the bot needs, and no more. It must cover the
 * configured model the way Bedrock authorizes it (a cross-region inference profile needs the
 * profile and the foundation model in every region it routes to), the Knowledge Base calls, and
 * reading the S3 sources it links to; account-specific parts are placeholders.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: unknown;
}

const text = readFileSync(new URL('../../deploy/iam-policy.json', import.meta.url), 'utf8');
const policy = JSON.parse(text) as { Version: string; Statement: Statement[] };
/** `${Name}`: a placeholder the operator fills in. */
const ph = (name: string) => `\${${name}}`;
const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
const statementsFor = (action: string) => policy.Statement.filter((s) => list(s.Action).includes(action));
const resourcesFor = (action: string) => statementsFor(action).flatMap((s) => list(s.Resource));

const defaultModelId = loadConfig({
  SLACK_BOT_TOKEN: 'xoxb-x',
  SLACK_SIGNING_SECRET: 's',
  AWS_REGION: 'us-east-1',
}).bedrock.modelId;
/** Where a `us.` cross-region inference profile sends requests. */
const usProfileRegions = ['us-east-1', 'us-east-2', 'us-west-2'];

describe('the IAM policy', () => {
  it('is a 2012-10-17 policy of Allow statements', () => {
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement.length).toBeGreaterThan(0);
    for (const statement of policy.Statement) expect(statement.Effect).toBe('Allow');
  });

  it('grants exactly the actions the bot calls', () => {
    const actions = [...new Set(policy.Statement.flatMap((s) => list(s.Action)))].sort();

    expect(actions).toEqual([
      'bedrock:ApplyGuardrail',
      'bedrock:InvokeModel',
      'bedrock:InvokeModelWithResponseStream',
      'bedrock:Retrieve',
      'bedrock:RetrieveAndGenerate',
      's3:GetObject',
      's3vectors:CreateIndex',
      's3vectors:DeleteVectors',
      's3vectors:GetIndex',
      's3vectors:PutVectors',
      's3vectors:QueryVectors',
    ]);
  });

  it('lets channel knowledge embed with Titan and use its own vector bucket only', () => {
    expect(resourcesFor('bedrock:InvokeModel')).toContain(
      `arn:aws:bedrock:${ph('Region')}::foundation-model/amazon.titan-embed-text-v2:0`,
    );
    expect(resourcesFor('s3vectors:QueryVectors')).toEqual([
      `arn:aws:s3vectors:${ph('Region')}:${ph('AccountId')}:bucket/${ph('KnowledgeVectorBucket')}`,
      `arn:aws:s3vectors:${ph('Region')}:${ph('AccountId')}:bucket/${ph('KnowledgeVectorBucket')}/index/*`,
    ]);
  });

  it('uses no wildcard action, and a wildcard resource only for RetrieveAndGenerate, which has no resource type', () => {
    for (const statement of policy.Statement) {
      for (const action of list(statement.Action)) expect(action).not.toContain('*');
      if (list(statement.Resource).includes('*')) {
        expect(list(statement.Action)).toEqual(['bedrock:RetrieveAndGenerate']);
      }
    }
  });

  it('lets the default model stream through its inference profile and the foundation model in each routed region', () => {
    const baseModelId = defaultModelId.replace(/^(us|eu|apac|jp|global)\./, '');
    for (const action of ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream']) {
      const resources = resourcesFor(action);

      expect(resources).toContain(
        `arn:aws:bedrock:\${Region}:\${AccountId}:inference-profile/${defaultModelId}`,
      );
      for (const region of usProfileRegions) {
        expect(resources).toContain(`arn:aws:bedrock:${region}::foundation-model/${baseModelId}`);
      }
      for (const resource of resources) {
        expect(resource).toMatch(
          /^arn:aws:bedrock:[^:]+:(\$\{AccountId\})?:(inference-profile|foundation-model)\/\S+$/,
        );
      }
    }
  });

  it('allows Retrieve on the one Knowledge Base only', () => {
    expect(resourcesFor('bedrock:Retrieve')).toEqual([
      `arn:aws:bedrock:${ph('Region')}:${ph('AccountId')}:knowledge-base/${ph('KnowledgeBaseId')}`,
    ]);
  });

  it('applies the one configured guardrail only', () => {
    expect(resourcesFor('bedrock:ApplyGuardrail')).toEqual([
      `arn:aws:bedrock:${ph('Region')}:${ph('AccountId')}:guardrail/${ph('GuardrailId')}`,
    ]);
  });

  it('reads objects of the Knowledge Base source bucket only, for presigned links', () => {
    expect(resourcesFor('s3:GetObject')).toEqual([`arn:aws:s3:::${ph('KnowledgeBaseSourceBucket')}/*`]);
  });

  it('holds placeholders, not a real account id', () => {
    expect(text).toContain(ph('AccountId'));
    expect(text).not.toMatch(/\d{12}/);
  });
});
