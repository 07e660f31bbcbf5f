/**
 * The fan-out engine (docs/state-machine.md): the same resources as infra/template.yaml's
 * `FanOut*` (created there when `FanOut=enabled`), with the same ASL text, read from
 * infra/fanout.asl.json and substituted by CloudFormation (DefinitionSubstitutions), as SAM does.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

import { CHECKOV, suppress } from './checkov';

/** The one ASL text both deployments use. */
export const ASL_FILE = path.join(__dirname, '..', '..', 'fanout.asl.json');

/** The engine's settings: the same defaults as the SAM parameters `FanOut*`. */
export interface FanOutProps {
  /** Lanes (child executions) running at once. @default 40 */
  readonly concurrency?: number;
  /** Percentage of lanes that may fail before the map run fails. @default 10 */
  readonly toleratedFailurePercentage?: number;
  /** Repositories per shard. @default 50 */
  readonly shardSize?: number;
  /** Shards of one account-region at once. @default 2 */
  readonly lanes?: number;
  /** ECR calls per second per account-region. @default 20 */
  readonly callsPerSecond?: number;
  /** @default cron(0 3 * * ? *) */
  readonly cleanupSchedule?: events.Schedule;
  /** @default rate(6 hours) */
  readonly sweepSchedule?: events.Schedule;
  /** @default rate(7 days), created disabled */
  readonly backfillSchedule?: events.Schedule;
  /** The backfill copies what destinations lack in every account: off unless asked. @default false */
  readonly backfillEnabled?: boolean;
}

/** The bucket of manifests and map run results. */
export function fanOutBucket(scope: Construct): s3.Bucket {
  // Manifests (runs/) and map run results (results/): working files, expired after 30 days.
  const bucket = new s3.Bucket(scope, 'FanOutBucket', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    versioned: true,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: ['runs', 'results'].map((id) => ({
      id,
      prefix: `${id}/`,
      expiration: Duration.days(30),
      noncurrentVersionExpiration: Duration.days(1),
      abortIncompleteMultipartUploadAfter: Duration.days(1),
    })),
  });
  suppress(bucket, CHECKOV.bucket);
  return bucket;
}

export interface FanOutParts {
  readonly props: FanOutProps;
  readonly bucket: s3.IBucket;
  readonly planner: lambda.IFunction;
  /** The shard workers, by the name the ASL substitutes (`<Name>FunctionArn`). */
  readonly workers: { Janitor: lambda.IFunction; TagGuard: lambda.IFunction; Replicator: lambda.IFunction };
  readonly ruleDeadLetterQueue: sqs.IQueue;
  readonly logRetention: logs.RetentionDays;
  readonly alarmTopicActions: (alarm: cloudwatch.Alarm) => void;
}

/** The state machine, its role and log group, and the three schedule rules (returned by id). */
export function addFanOutEngine(scope: Construct, parts: FanOutParts): Record<string, events.Rule> {
  const stackName = Stack.of(scope).stackName;
  const { props, bucket, planner, workers } = parts;
  const name = `${stackName}-fanout`;
  const logGroup = new logs.LogGroup(scope, 'FanOutStateMachineLogs', {
    logGroupName: `/aws/vendedlogs/states/${name}`,
    retention: parts.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  suppress(logGroup, CHECKOV.logGroup);
  const allow = (sid: string, actions: string[], resources: string[]) =>
    new iam.PolicyStatement({ sid, actions, resources });
  // AWS's "IAM policies for using Distributed Map states" (docs/state-machine.md): StartExecution
  // on the state machine itself, DescribeExecution/StopExecution on its executions, the
  // ItemReader's object, the ResultWriter's prefix; and the log-delivery actions (no resource type).
  const states = `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}`;
  const role = new iam.Role(scope, 'FanOutStateMachineRole', {
    assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
    inlinePolicies: {
      'fanout-state-machine': new iam.PolicyDocument({
        statements: [
          allow('InvokeFunctions', ['lambda:InvokeFunction'], [planner, workers.Janitor, workers.TagGuard, workers.Replicator].map((f) => f.functionArn)),
          allow('ReadLanes', ['s3:GetObject'], [bucket.arnForObjects('runs/*')]),
          allow(
            'WriteResults',
            ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
            [bucket.arnForObjects('results/*')],
          ),
          allow('ChildExecutions', ['states:StartExecution'], [`${states}:stateMachine:${name}`]),
          allow('ChildExecutionsControl', ['states:DescribeExecution', 'states:StopExecution'], [`${states}:execution:${name}:*`]),
          allow(
            'LogDelivery',
            [
              'logs:CreateLogDelivery',
              'logs:GetLogDelivery',
              'logs:UpdateLogDelivery',
              'logs:DeleteLogDelivery',
              'logs:ListLogDeliveries',
              'logs:PutResourcePolicy',
              'logs:DescribeResourcePolicies',
              'logs:DescribeLogGroups',
            ],
            ['*'],
          ),
        ],
      }),
    },
  });
  const machine = new sfn.CfnStateMachine(scope, 'FanOutStateMachine', {
    stateMachineName: name,
    stateMachineType: 'STANDARD',
    roleArn: role.roleArn,
    definitionString: fs.readFileSync(ASL_FILE, 'utf8'),
    definitionSubstitutions: {
      Partition: Aws.PARTITION,
      FanOutFunctionArn: planner.functionArn,
      JanitorFunctionArn: workers.Janitor.functionArn,
      TagGuardFunctionArn: workers.TagGuard.functionArn,
      ReplicatorFunctionArn: workers.Replicator.functionArn,
      FanOutBucket: bucket.bucketName,
      FanOutConcurrency: String(props.concurrency ?? 40),
      FanOutToleratedFailurePercentage: String(props.toleratedFailurePercentage ?? 10),
    },
    loggingConfiguration: {
      level: 'ERROR',
      includeExecutionData: false,
      destinations: [{ cloudWatchLogsLogGroup: { logGroupArn: logGroup.logGroupArn } }],
    },
  });
  machine.node.addDependency(role);
  // cdk synth warns of the `${...}` in the definition (CloudFormation-Validate E1029): they are
  // DefinitionSubstitutions' placeholders, as SAM's DefinitionUri file has them, not Fn::Sub's.
  machine.addMetadata('checkov', { skip: CHECKOV.stateMachine });

  // EventBridge rules (not Scheduler: it sends no Scheduled Event envelope) start it.
  const scheduleRole = new iam.Role(scope, 'FanOutScheduleRole', {
    assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
    }),
    inlinePolicies: {
      'start-fanout': new iam.PolicyDocument({
        statements: [allow('StartFanOut', ['states:StartExecution'], [machine.attrArn])],
      }),
    },
  });
  const rules: Record<string, events.Rule> = {};
  const schedule = (ruleId: string, job: string, every: events.Schedule, description: string, enabled = true) => {
    const rule = new events.Rule(scope, ruleId, { schedule: every, description, enabled });
    rule.addTarget({
      bind: () => ({
        arn: machine.attrArn,
        role: scheduleRole,
        input: events.RuleTargetInput.fromObject({ job }),
        retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 3 },
        deadLetterConfig: { arn: parts.ruleDeadLetterQueue.queueArn },
      }),
    });
    rules[ruleId] = rule;
  };
  schedule('FanOutCleanupRule', 'cleanup', props.cleanupSchedule ?? events.Schedule.expression('cron(0 3 * * ? *)'), 'ecr-warden fan-out - cleanup over every account');
  schedule('FanOutSweepRule', 'sweep', props.sweepSchedule ?? events.Schedule.expression('rate(6 hours)'), 'ecr-warden fan-out - tag-guard sweep over every account');
  schedule(
    'FanOutBackfillRule',
    'backfill',
    props.backfillSchedule ?? events.Schedule.expression('rate(7 days)'),
    'ecr-warden fan-out - replication backfill over every account',
    props.backfillEnabled ?? false,
  );
  const failed = new cloudwatch.Alarm(scope, 'FanOutExecutionsFailedAlarm', {
    alarmDescription: 'ecr-warden fan-out - a run failed (more lanes failed than tolerated, or a state failed)',
    metric: new cloudwatch.Metric({
      namespace: 'AWS/States',
      metricName: 'ExecutionsFailed',
      dimensionsMap: { StateMachineArn: machine.attrArn },
      statistic: 'Sum',
      period: Duration.minutes(5),
    }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  parts.alarmTopicActions(failed);
  return rules;
}
