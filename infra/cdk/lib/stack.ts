// The deployable stack: one EcrWarden construct, configured from CDK context (cdk.json or
// `cdk synth -c key=value`), with the same defaults as infra/template.yaml's parameters.

import * as path from 'path';
import { App, Stack, StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { EcrWarden } from './ecr-warden';
import { FanOutProps } from './fanout';

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
      fanOut: fanOut(context),
    });
  }
}

/**
 * The fan-out engine from the context keys named like the SAM parameters: `fanOut` (`enabled` /
 * `disabled`, the default), `fanOutConcurrency`, `fanOutToleratedFailurePercentage`,
 * `fanOutShardSize`, `fanOutLanes`, `fanOutCallsPerSecond`, `fanOutCleanupSchedule`,
 * `fanOutSweepSchedule`, `fanOutBackfillSchedule`, `fanOutBackfillState` (`ENABLED` / `DISABLED`).
 */
function fanOut(context: (key: string) => string | undefined): FanOutProps | undefined {
  const enabled = context('fanOut') ?? 'disabled';
  if (!['enabled', 'disabled'].includes(enabled)) throw new Error(`fanOut ${enabled}: enabled or disabled`);
  if (enabled === 'disabled') return undefined;
  const whole = (key: string, min: number, max: number): number | undefined => {
    const raw = context(key);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${key} ${raw}: a whole number from ${min} to ${max}`);
    return value;
  };
  const every = (key: string) => (context(key) ? events.Schedule.expression(context(key)!) : undefined);
  const backfill = context('fanOutBackfillState') ?? 'DISABLED';
  if (!['ENABLED', 'DISABLED'].includes(backfill)) throw new Error(`fanOutBackfillState ${backfill}: ENABLED or DISABLED`);
  return {
    concurrency: whole('fanOutConcurrency', 1, 10000),
    toleratedFailurePercentage: whole('fanOutToleratedFailurePercentage', 0, 100),
    shardSize: whole('fanOutShardSize', 1, 100000),
    lanes: whole('fanOutLanes', 1, 100000),
    callsPerSecond: whole('fanOutCallsPerSecond', 1, 100000),
    cleanupSchedule: every('fanOutCleanupSchedule'),
    sweepSchedule: every('fanOutSweepSchedule'),
    backfillSchedule: every('fanOutBackfillSchedule'),
    backfillEnabled: backfill === 'ENABLED',
  };
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
