// The deployable stack: one EcrWarden construct, configured from CDK context (cdk.json or
// `cdk synth -c key=value`), with the same defaults as infra/template.yaml's parameters.

import * as path from 'path';
import { App, Stack, StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { EcrWarden } from './ecr-warden';

/** The workspace Cargo.toml, from infra/cdk/lib. */
export const WORKSPACE_MANIFEST = path.join(__dirname, '..', '..', '..', 'Cargo.toml');

export class EcrWardenStack extends Stack {
  readonly warden: EcrWarden;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const context = (key: string): string | undefined => this.node.tryGetContext(key);
    const list = (key: string): string[] =>
      (context(key) ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    const alarmTopicArn = context('alarmTopicArn');
    this.warden = new EcrWarden(this, 'Warden', {
      manifestPath: WORKSPACE_MANIFEST,
      policyParameterName: context('policyParameterName'),
      existingStateTableName: context('existingStateTableName') || undefined,
      dryRun: (context('dryRun') ?? 'true') !== 'false',
      repositoryScope: context('repositoryScope'),
      slackSecretPrefix: context('slackSecretPrefix'),
      tagGuardSweepSchedule: context('tagGuardSweepSchedule')
        ? events.Schedule.expression(context('tagGuardSweepSchedule')!)
        : undefined,
      janitorSchedule: context('janitorSchedule')
        ? events.Schedule.expression(context('janitorSchedule')!)
        : undefined,
      memberAccountIds: list('memberAccountIds'),
      memberAccountRoleArns: list('memberAccountRoleArns'),
      organizationId: context('organizationId') || undefined,
      replicationRoleArns: list('replicationRoleArns'),
      alarmTopic: alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', alarmTopicArn) : undefined,
      logLevel: logLevel(context('logLevel')),
      reservedConcurrency: reservedConcurrency(context),
    });
  }
}

/**
 * The functions' application log level: TRACE, DEBUG or INFO. Lambda gives a JSON line without a
 * "level" key the level INFO, so WARN and above would drop each invocation's summary line, which
 * carries the EMF metrics the alarms read.
 */
function logLevel(raw: string | undefined): lambda.ApplicationLogLevel | undefined {
  if (raw === undefined) return undefined;
  const allowed = ['TRACE', 'DEBUG', 'INFO'];
  if (!allowed.includes(raw)) {
    throw new Error(`logLevel ${raw}: one of ${allowed.join(', ')} (WARN and above drop the EMF summary lines)`);
  }
  return raw as lambda.ApplicationLogLevel;
}

/**
 * Concurrency reserved per function from the context keys `tagGuardReservedConcurrency`,
 * `scanGateReservedConcurrency`, `replicatorReservedConcurrency`, `notifierReservedConcurrency` and
 * `janitorReservedConcurrency` (0, the default, reserves none), like the SAM parameters.
 */
function reservedConcurrency(context: (key: string) => string | undefined): Record<string, number> {
  const reserved: Record<string, number> = {};
  for (const binary of ['tag-guard', 'scan-gate', 'replicator', 'notifier', 'janitor']) {
    const key = `${binary.replace(/-(.)/g, (_, c: string) => c.toUpperCase())}ReservedConcurrency`;
    const raw = context(key);
    if (raw === undefined) continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > 1000) {
      throw new Error(`${key} ${raw}: a whole number from 0 (none reserved) to 1000`);
    }
    reserved[binary] = value;
  }
  return reserved;
}

export function app(context?: Record<string, unknown>): App {
  const created = new App({ context });
  new EcrWardenStack(created, 'ecr-warden');
  return created;
}
