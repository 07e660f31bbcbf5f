// ecr-warden as a construct: the same deployment as infra/template.yaml (functions, rules,
// queues, table, topic, roles, alarms), for platform teams that build their stacks with the CDK.
// tests/infra/compare.py checks that both synthesize the same functions, event patterns and IAM
// actions; tests/infra/iam_check.py that every role grants exactly what its function's code calls.

import { Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { BundlingOptions, RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';

import { addAlarms } from './alarms';
import { addDashboard } from './dashboard';
import { CHECKOV, suppress } from './checkov';
import { FanOutProps, addFanOutEngine, fanOutBucket } from './fanout';

export interface EcrWardenProps {
  /**
   * The workspace's Cargo.toml. Each function is built from it with `--package <binary>`, so that
   * cargo resolves that package alone and the bootstrap carries only that function's SDK features.
   */
  readonly manifestPath: string;
  /** SSM parameter holding the policy YAML, created out of band. @default /ecr-warden/policy */
  readonly policyParameterName?: string;
  /** Global dry-run: plan and publish, change nothing. @default true */
  readonly dryRun?: boolean;
  /** Repositories the functions may change, as an ECR repository ARN's tail. @default '*' */
  readonly repositoryScope?: string;
  /** Prefix of the Secrets Manager secrets holding Slack webhooks. @default 'ecr-warden/slack/' */
  readonly slackSecretPrefix?: string;
  /**
   * tag-guard's reconciling sweep (an EventBridge rule), created only without `fanOut` (the
   * engine's sweep rule replaces it). @default rate(6 hours)
   */
  readonly tagGuardSweepSchedule?: events.Schedule;
  /**
   * janitor's run (an EventBridge rule, UTC), created only without `fanOut` (the engine's cleanup
   * rule replaces it). @default cron(0 3 * * ? *)
   */
  readonly janitorSchedule?: events.Schedule;
  /** Accounts named in the policy whose events reach this account's default bus. */
  readonly memberAccountIds?: string[];
  /**
   * The AWS Organization (`o-…`) whose accounts may put events on this account's default bus;
   * without it only `memberAccountIds` may (docs/organization.md, infra/member.yaml).
   */
  readonly organizationId?: string;
  /** Roles in those accounts that tag-guard, scan-gate, janitor and the fan-out planner assume. */
  readonly memberAccountRoleArns?: string[];
  /** Roles in destination accounts the replicator assumes (the policy's destinations' role_arn). */
  readonly replicationRoleArns?: string[];
  /** Where alarms notify; without it the alarms have no actions. */
  readonly alarmTopic?: sns.ITopic;
  /** @default one year */
  readonly logRetention?: logs.RetentionDays;
  /** @default INFO */
  readonly logLevel?: lambda.ApplicationLogLevel;
  /**
   * The name of a state table a former stack left behind (it is retained on delete): the
   * functions use it, with its ledgers and verdicts, and no table is created.
   * @default a new table
   */
  readonly existingStateTableName?: string;
  /**
   * Concurrency reserved per function, by binary name (`tag-guard`, `scan-gate`, `replicator`,
   * `notifier`, `janitor`); a function not named, or 0, reserves none. Lambda keeps 100 units of
   * the account's quota unreserved: the sum must stay within the quota less 100.
   * @default none reserved
   */
  readonly reservedConcurrency?: Record<string, number>;
  /**
   * The fan-out engine (docs/state-machine.md): a state machine running janitor, tag-guard's sweep
   * and the replicator's backfill over every account of the policy. SAM: `FanOut=enabled`. Its
   * schedules replace janitor's and tag-guard's own (`janitorSchedule`, `tagGuardSweepSchedule`:
   * not created then; the functions' event rules stay).
   * @default none (a single-account deployment keeps its per-function schedules)
   */
  readonly fanOut?: FanOutProps;
  /** cargo-lambda bundling options for every function (arm64 is always set). */
  readonly bundling?: BundlingOptions;
}

/** A queue as an on-failure destination, without CDK's grant: the role's statement is explicit. */
class QueueDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}
  bind(): lambda.DestinationConfig {
    return { destination: this.queue.queueArn };
  }
}

interface FunctionSpec {
  readonly id: string;
  readonly binary: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly environment: Record<string, string>;
  readonly statements: iam.PolicyStatement[];
  /**
   * Built position independent: fanout, whose S3 SDK links crc-fast (its C library cannot be
   * linked non-PIC). The others are non-PIE, as their folders' .cargo/config.toml has `sam build`.
   */
  readonly positionIndependent?: boolean;
}

const RULE_RETRIES = 185;

export class EcrWarden extends Construct {
  readonly table: dynamodb.ITable;
  readonly topic: sns.Topic;
  readonly findingsQueue: sqs.Queue;
  /** The functions by construct id (TagGuard, ScanGate, Replicator, Notifier, Janitor). */
  readonly functions: Record<string, lambda.Function> = {};
  /** The cargo package each function's build selects alone (`--package`), by binary name. */
  readonly packages: Record<string, string> = {};
  /** Every EventBridge rule, schedules included, by construct id. */
  readonly rules: Record<string, events.Rule> = {};

  private readonly props: EcrWardenProps;
  private readonly ruleDeadLetterQueue: sqs.Queue;
  private readonly failedInvocationQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: EcrWardenProps) {
    super(scope, id);
    this.props = props;
    const stack = Stack.of(this);
    const partition = Aws.PARTITION;
    const region = Aws.REGION;
    const account = Aws.ACCOUNT_ID;
    const policyParameter = props.policyParameterName ?? '/ecr-warden/policy';
    const repositoryScope = props.repositoryScope ?? '*';
    const accounts = [account, ...(props.memberAccountIds ?? [])];

    this.admitMemberEvents(props);

    // ---------------------------------------------------------------- state and messaging
    if (props.existingStateTableName) {
      this.table = dynamodb.Table.fromTableName(this, 'StateTable', props.existingStateTableName);
    } else {
      const table = new dynamodb.Table(this, 'StateTable', {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute: 'ttl',
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        // The ledger is the only record of a protected tag's first digest: keep it past the stack.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      suppress(table, CHECKOV.table);
      this.table = table;
    }
    this.topic = new sns.Topic(this, 'WardenTopic', {
      displayName: 'ecr-warden',
      masterKey: kms.Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
    });
    const deadLetterQueue = (queueId: string) => {
      const queue = new sqs.Queue(this, queueId, {
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
      });
      suppress(queue, CHECKOV.queue);
      return queue;
    };
    const findingsDeadLetterQueue = deadLetterQueue('FindingsDeadLetterQueue');
    this.ruleDeadLetterQueue = deadLetterQueue('RuleDeadLetterQueue');
    this.failedInvocationQueue = deadLetterQueue('FailedInvocationQueue');
    this.findingsQueue = new sqs.Queue(this, 'FindingsQueue', {
      // >= 6x scan-gate's timeout (AWS's guidance for SQS event sources).
      visibilityTimeout: Duration.seconds(720),
      retentionPeriod: Duration.days(4),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: findingsDeadLetterQueue, maxReceiveCount: 5 },
    });
    suppress(this.findingsQueue, CHECKOV.queue);
    const findingsRule = new events.Rule(this, 'InspectorFindingRule', {
      description: 'ecr-warden scan-gate - Inspector findings on ECR images, to the findings queue',
      eventPattern: {
        source: ['aws.inspector2'],
        detailType: ['Inspector2 Finding'],
        account: accounts,
        detail: { resources: { type: ['AWS_ECR_CONTAINER_IMAGE'] } },
      },
    });
    findingsRule.addTarget(
      new targets.SqsQueue(this.findingsQueue, {
        deadLetterQueue: this.ruleDeadLetterQueue,
        retryAttempts: RULE_RETRIES,
        maxEventAge: Duration.hours(24),
      }),
    );
    this.rules.InspectorFindingRule = findingsRule;

    // ---------------------------------------------------------------- IAM building blocks
    const repositories = (tail: string, inRegion: string = region) =>
      `arn:${partition}:ecr:${inRegion}:${account}:repository/${tail}`;
    const allow = (sid: string, actions_: string[], resources: string[], conditions?: Record<string, unknown>) =>
      new iam.PolicyStatement({ sid, actions: actions_, resources, conditions });
    const tableWith = (sid: string, actions_: string[], prefixes: string[]) =>
      allow(sid, actions_, [this.table.tableArn], {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes },
      });
    const publish = allow('Publish', ['sns:Publish'], [this.topic.topicArn]);
    const policy = allow('Policy', ['ssm:GetParameter'], [
      `arn:${partition}:ssm:${region}:${account}:parameter${policyParameter}`,
    ]);
    const memberRoles = props.memberAccountRoleArns?.length
      ? [allow('MemberAccounts', ['sts:AssumeRole'], props.memberAccountRoleArns)]
      : [];
    const environment = {
      WARDEN_POLICY_SSM: policyParameter,
      WARDEN_DRY_RUN: String(props.dryRun ?? true),
      WARDEN_TABLE: this.table.tableName,
      WARDEN_TOPIC_ARN: this.topic.topicArn,
    };

    // ---------------------------------------------------------------- functions
    const tagGuard = this.rustFunction({
      id: 'TagGuard',
      binary: 'tag-guard',
      description: 'ecr-warden tag-guard - repository tag mutability, protected tags reverted',
      // The sweep checks its deadline: it starts no repository in the last 30 s and checkpoints.
      timeout: Duration.seconds(300),
      memorySize: 128,
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      environment,
      statements: [
        allow('ListRepositories', ['ecr:DescribeRepositories'], [repositories('*')]),
        allow(
          'GuardTags',
          ['ecr:BatchGetImage', 'ecr:DescribeImages', 'ecr:PutImage', 'ecr:PutImageTagMutability'],
          [repositories(repositoryScope)],
        ),
        tableWith('LedgerVerdictsCheckpoints', ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], [
          'tag#*',
          'verdict#*',
          'checkpoint#*',
        ]),
        publish,
        policy,
        ...memberRoles,
      ],
    });
    this.rule('TagGuardFunctionPush', tagGuard, {
      source: ['aws.ecr'],
      detailType: ['ECR Image Action'],
      account: accounts,
      detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
    });
    // ECR's own replication writes tags in this region's registry with this event, not a PUSH:
    // the ledger records and follows them (docs/tag-guard.md, "Replicated images").
    this.rule('TagGuardFunctionReplication', tagGuard, {
      source: ['aws.ecr'],
      detailType: ['ECR Replication Action'],
      account: accounts,
      detail: { result: ['SUCCESS'] },
    });
    // CloudTrail management events: needs a trail in this region.
    this.rule('TagGuardFunctionRepositorySettings', tagGuard, {
      source: ['aws.ecr'],
      detailType: ['AWS API Call via CloudTrail'],
      account: accounts,
      detail: {
        eventSource: ['ecr.amazonaws.com'],
        eventName: ['CreateRepository', 'PutImageTagMutability'],
        errorCode: events.Match.doesNotExist(),
      },
    });
    // Its own sweep schedule only without the fan-out engine, whose sweep rule replaces it (SAM:
    // condition FanOutDisabled).
    if (!props.fanOut) {
      this.schedule(
        'TagGuardFunctionSweep',
        tagGuard,
        props.tagGuardSweepSchedule ?? events.Schedule.expression('rate(6 hours)'),
        'ecr-warden tag-guard - reconciling sweep',
        3,
      );
    }

    // scan-gate's one-time schedules, each ending an unsigned image's signature grace (deleted once
    // run; deleting the group deletes those still waiting), and the role EventBridge Scheduler
    // invokes scan-gate with. Its one permission is a policy of its own that names the function
    // (below): the function's environment names this role, so the role cannot name the function.
    const graceGroup = new scheduler.CfnScheduleGroup(this, 'GraceScheduleGroup', {
      name: `${stack.stackName}-grace`,
    });
    const graceRole = new iam.Role(this, 'GraceSchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnEquals: { 'aws:SourceArn': graceGroup.attrArn },
        },
      }),
    });
    const scanGate = this.rustFunction({
      id: 'ScanGate',
      binary: 'scan-gate',
      description: 'ecr-warden scan-gate - verdict per image, quarantine and release',
      timeout: Duration.seconds(120),
      memorySize: 128,
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      environment: {
        ...environment,
        // Where the ends of signature graces are scheduled (docs/signatures.md).
        WARDEN_GRACE_SCHEDULER_ROLE_ARN: graceRole.roleArn,
        WARDEN_GRACE_SCHEDULE_GROUP: graceGroup.ref,
      },
      statements: [
        allow(
          'FindingsQueue',
          ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          [this.findingsQueue.queueArn],
        ),
        allow(
          'GateImages',
          [
            'ecr:BatchGetImage',
            'ecr:DescribeImages',
            'ecr:DescribeImageScanFindings',
            'ecr:PutImage',
            'ecr:BatchDeleteImage',
            // A cosign signature's payload (its layer, through a pre-signed URL), and ECR managed
            // signing's status per profile: docs/signatures.md. BatchGetImage also authorizes
            // ListImageReferrers (an image's OCI 1.1 referrers: Notation signatures).
            'ecr:GetDownloadUrlForLayer',
            'ecr:DescribeImageSigningStatus',
          ],
          [repositories(repositoryScope)],
        ),
        // Whether AWS Signer revoked a Notation signature's signing job, profile or certificate
        // (Signer's data plane, this region). The Service Authorization Reference lists
        // GetRevocationStatus with two required resource types, signing-job and signing-profile:
        // the signature's own, in whichever account and region signed it (the policy's trusted
        // profiles), so any (docs/signatures.md).
        allow('SignerRevocations', ['signer:GetRevocationStatus'], [
          `arn:${partition}:signer:*:*:/signing-jobs/*`,
          `arn:${partition}:signer:*:*:/signing-profiles/*`,
        ]),
        // The public half of a KMS key a signatures policy trusts (kms_key_id), read once per
        // container: this account's keys, any region (docs/signatures.md).
        allow('TrustedKmsKeys', ['kms:GetPublicKey'], [`arn:${partition}:kms:*:${account}:key/*`]),
        // The end of an unsigned image's signature grace: a one-time schedule in this stack's
        // group, named warden-grace-<hash> (docs/signatures.md).
        allow('GraceDeadlines', ['scheduler:CreateSchedule'], [
          `arn:${partition}:scheduler:${region}:${account}:schedule/${graceGroup.ref}/warden-grace-*`,
        ]),
        // A schedule's target role: the one that may invoke scan-gate, to Scheduler only.
        allow('GraceDeadlinesRole', ['iam:PassRole'], [graceRole.roleArn], {
          StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
        }),
        // inspector2:ListFindings and ListCoverage have no resource type.
        allow('InspectorReads', ['inspector2:ListFindings', 'inspector2:ListCoverage'], ['*']),
        // ConditionCheckItem: an index's verdict is written only while its platform images'
        // records still hold (one TransactWriteItems).
        tableWith(
          'Verdicts',
          ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
          ['verdict#*'],
        ),
        publish,
        policy,
        ...memberRoles,
      ],
    });
    new iam.CfnRolePolicy(this, 'GraceSchedulerInvoke', {
      roleName: graceRole.roleName,
      policyName: 'invoke-scan-gate',
      policyDocument: new iam.PolicyDocument({
        statements: [allow('InvokeScanGate', ['lambda:InvokeFunction'], [scanGate.functionArn])],
      }),
    });
    // Every result, FAILED included: a scan that did not finish is a FAIL verdict.
    this.rule('ScanGateFunctionBasicScan', scanGate, {
      source: ['aws.ecr'],
      detailType: ['ECR Image Scan'],
      account: accounts,
    });
    // Inspector sends this type for EC2 instances and Lambda functions too: only scans of ECR
    // images name a repository.
    this.rule('ScanGateFunctionInspectorScan', scanGate, {
      source: ['aws.inspector2'],
      detailType: ['Inspector2 Scan'],
      account: accounts,
      detail: { 'repository-name': [{ exists: true }] },
    });
    // A tag pushed onto an image scan-gate failed is taken away like its others.
    this.rule('ScanGateFunctionPush', scanGate, {
      source: ['aws.ecr'],
      detailType: ['ECR Image Action'],
      account: accounts,
      detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
    });
    // A referrer pushed with the OCI 1.1 referrers API (a Notation signature): its subject is
    // gated again. No result filter: the event may carry none (scan-gate drops a failed push
    // itself).
    this.rule('ScanGateFunctionReferrer', scanGate, {
      source: ['aws.ecr'],
      detailType: ['ECR Referrer Action'],
      account: accounts,
      detail: { 'action-type': ['PUSH'] },
    });
    new lambda.EventSourceMapping(this, 'ScanGateFunctionFindings', {
      target: scanGate,
      eventSourceArn: this.findingsQueue.queueArn,
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(20),
      reportBatchItemFailures: true,
      maxConcurrency: 5,
    });

    const replicator = this.rustFunction({
      id: 'Replicator',
      binary: 'replicator',
      description: 'ecr-warden replicator - copies of passed images to other regions and accounts',
      timeout: Duration.seconds(900),
      // Layers stream through in parts; more memory is more CPU and network for hashing and base64.
      memorySize: 1024,
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      environment,
      statements: [
        // DescribeImages: which referrer holds which tag (imageTags, not BatchGetImage's echo).
        allow(
          'ReadSource',
          // BatchGetImage also authorizes ListImageReferrers; DescribeRepositories: the settings a
          // missing destination is created with.
          ['ecr:BatchGetImage', 'ecr:DescribeImages', 'ecr:DescribeRepositories', 'ecr:GetDownloadUrlForLayer'],
          [repositories(repositoryScope)],
        ),
        // Destinations in this account, any region (the policy names them). DescribeImages:
        // whether an immutable tag ECR refused already holds this manifest.
        allow(
          'WriteDestinations',
          [
            'ecr:BatchCheckLayerAvailability',
            'ecr:DescribeImages',
            'ecr:InitiateLayerUpload',
            'ecr:UploadLayerPart',
            'ecr:CompleteLayerUpload',
            'ecr:PutImage',
            'ecr:CreateRepository',
            // A created repository as its registry's creation template says: its resource tags
            // (authorized as ecr:TagResource), lifecycle and repository policies.
            'ecr:TagResource',
            'ecr:PutLifecyclePolicy',
            'ecr:SetRepositoryPolicy',
          ],
          [repositories(repositoryScope, '*')],
        ),
        // The destination registry's repository creation templates (no resource type).
        allow('DestinationTemplates', ['ecr:DescribeRepositoryCreationTemplates'], ['*']),
        tableWith('Verdicts', ['dynamodb:GetItem'], ['verdict#*']),
        // A fan-out backfill shard's checkpoint (docs/organization.md).
        tableWith('Checkpoints', ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], ['checkpoint#replicator#*']),
        publish,
        policy,
        ...(props.replicationRoleArns?.length
          ? [allow('DestinationAccounts', ['sts:AssumeRole'], props.replicationRoleArns)]
          : []),
      ],
    });
    this.topic.addSubscription(
      new subscriptions.LambdaSubscription(replicator, {
        deadLetterQueue: this.failedInvocationQueue,
        filterPolicy: { verdict: sns.SubscriptionFilter.stringFilter({ allowlist: ['PASS'] }) },
      }),
    );
    // Repositories replicated without gating copy on push; in gated ones a push is copied when
    // its digest's recorded verdict is PASS (a promotion by re-tag).
    this.rule('ReplicatorFunctionPush', replicator, {
      source: ['aws.ecr'],
      detailType: ['ECR Image Action'],
      account: [account],
      detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
    });

    const notifier = this.rustFunction({
      id: 'Notifier',
      binary: 'notifier',
      description: 'ecr-warden notifier - Slack Block Kit messages from the warden topic',
      timeout: Duration.seconds(60),
      memorySize: 128,
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      environment,
      statements: [
        allow('Webhooks', ['secretsmanager:GetSecretValue'], [
          `arn:${partition}:secretsmanager:${region}:${account}:secret:${props.slackSecretPrefix ?? 'ecr-warden/slack/'}*`,
        ]),
        tableWith('DedupeLog', ['dynamodb:PutItem', 'dynamodb:DeleteItem'], ['notified#*']),
        policy,
      ],
    });
    this.topic.addSubscription(
      new subscriptions.LambdaSubscription(notifier, { deadLetterQueue: this.failedInvocationQueue }),
    );

    const janitor = this.rustFunction({
      id: 'Janitor',
      binary: 'janitor',
      description: 'ecr-warden janitor - scheduled cleanup that keeps what is in use',
      // A run stops starting repositories 60 s before this and checkpoints.
      timeout: Duration.seconds(900),
      memorySize: 512,
      // A retried run would race its own checkpoint; the next scheduled run continues instead.
      retryAttempts: 0,
      maxEventAge: Duration.hours(1),
      environment,
      statements: [
        allow('ListRepositories', ['ecr:DescribeRepositories'], [repositories('*')]),
        allow(
          'CleanUp',
          [
            'ecr:DescribeImages',
            'ecr:BatchGetImage',
            'ecr:BatchDeleteImage',
            'ecr:GetLifecyclePolicy',
            'ecr:PutLifecyclePolicy',
          ],
          [repositories(repositoryScope)],
        ),
        // These ECS reads have no resource type.
        allow(
          'InUseEcs',
          [
            'ecs:ListClusters',
            'ecs:ListServices',
            'ecs:ListTasks',
            'ecs:ListTaskDefinitionFamilies',
            'ecs:ListTaskDefinitions',
            'ecs:DescribeTaskDefinition',
          ],
          ['*'],
        ),
        allow('InUseEcsDescribe', ['ecs:DescribeServices', 'ecs:DescribeTasks', 'ecs:DescribeServiceRevisions'], [
          `arn:${partition}:ecs:${region}:${account}:service/*`,
          `arn:${partition}:ecs:${region}:${account}:task/*`,
          `arn:${partition}:ecs:${region}:${account}:service-revision/*`,
        ]),
        // lambda:ListFunctions has no resource type.
        allow('InUseLambdaList', ['lambda:ListFunctions'], ['*']),
        allow('InUseLambda', ['lambda:GetFunction', 'lambda:ListVersionsByFunction'], [
          `arn:${partition}:lambda:${region}:${account}:function:*`,
        ]),
        tableWith('Checkpoints', ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'], ['checkpoint#*']),
        publish,
        policy,
        // The fan-out engine's cleanup shards of member accounts (docs/state-machine.md).
        ...memberRoles,
      ],
    });
    // Its own schedule only without the fan-out engine, whose cleanup rule replaces it (SAM:
    // condition FanOutDisabled).
    if (!props.fanOut) {
      this.schedule(
        'JanitorFunctionRun',
        janitor,
        props.janitorSchedule ?? events.Schedule.expression('cron(0 3 * * ? *)'),
        'ecr-warden janitor - cleanup run',
        0,
      );
    }

    // ---------------------------------------------------------------- the fan-out engine
    if (props.fanOut) {
      const bucket = fanOutBucket(this);
      const planner = this.rustFunction({
        id: 'FanOut',
        binary: 'fanout',
        description: 'ecr-warden fan-out - plans shards over the policy\'s accounts, sums a run up',
        timeout: Duration.seconds(300),
        memorySize: 256,
        // Step Functions invokes it synchronously; an asynchronous invocation is not retried.
        retryAttempts: 0,
        maxEventAge: Duration.hours(1),
        positionIndependent: true,
        environment: {
          ...environment,
          WARDEN_FANOUT_BUCKET: bucket.bucketName,
          WARDEN_FANOUT_SHARD_SIZE: String(props.fanOut.shardSize ?? 50),
          WARDEN_FANOUT_LANES: String(props.fanOut.lanes ?? 2),
          WARDEN_FANOUT_CALLS_PER_SECOND: String(props.fanOut.callsPerSecond ?? 20),
        },
        statements: [
          allow('ListRepositories', ['ecr:DescribeRepositories'], [repositories('*')]),
          allow('WriteManifests', ['s3:PutObject'], [bucket.arnForObjects('runs/*')]),
          allow('ReadResults', ['s3:GetObject'], [bucket.arnForObjects('results/*')]),
          publish,
          policy,
          ...memberRoles,
        ],
      });
      const engineRules = addFanOutEngine(this, {
        props: props.fanOut,
        bucket,
        planner,
        workers: { Janitor: janitor, TagGuard: tagGuard, Replicator: replicator },
        ruleDeadLetterQueue: this.ruleDeadLetterQueue,
        logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
        alarmTopicActions: (alarm: cloudwatch.Alarm) => {
          if (props.alarmTopic) {
            alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
            alarm.addOkAction(new actions.SnsAction(props.alarmTopic));
          }
        },
      });
      Object.assign(this.rules, engineRules);
      new CfnOutput(stack, 'FanOutFunctionRoleArn', { value: planner.role!.roleArn });
      new CfnOutput(stack, 'FanOutBucketName', { value: bucket.bucketName });
      new CfnOutput(stack, 'FanOutStateMachineArn', {
        value: `arn:${partition}:states:${region}:${account}:stateMachine:${stack.stackName}-fanout`,
      });
    }

    // ---------------------------------------------------------------- alarms
    addDashboard(this, {
      functions: Object.fromEntries(Object.entries(this.binaries).map(([id, binary]) => [binary, this.functions[id]])),
      queues: [findingsDeadLetterQueue, this.ruleDeadLetterQueue, this.failedInvocationQueue],
    });
    addAlarms(this, {
      functions: this.functions,
      binaries: this.binaries,
      janitor,
      deadLetterQueues: [
        ['FindingsDeadLetterQueue', findingsDeadLetterQueue, 'Inspector finding messages scan-gate failed 5 times'],
        ['RuleDeadLetterQueue', this.ruleDeadLetterQueue, 'events EventBridge could not deliver to a function'],
        [
          'FailedInvocationQueue',
          this.failedInvocationQueue,
          "invocations that failed after Lambda's retries, or SNS deliveries to the notifier given up",
        ],
      ],
      findingsQueue: this.findingsQueue,
      rules: this.rules,
      alarmTopic: props.alarmTopic,
    });
    // ---------------------------------------------------------------- outputs
    new CfnOutput(stack, 'TopicArn', { value: this.topic.topicArn });
    new CfnOutput(stack, 'TableName', { value: this.table.tableName });
    new CfnOutput(stack, 'TableArn', { value: this.table.tableArn });
    new CfnOutput(stack, 'FindingsQueueArn', { value: this.findingsQueue.queueArn });
    new CfnOutput(stack, 'FindingsDeadLetterQueueArn', { value: findingsDeadLetterQueue.queueArn });
    new CfnOutput(stack, 'RuleDeadLetterQueueArn', { value: this.ruleDeadLetterQueue.queueArn });
    new CfnOutput(stack, 'FailedInvocationQueueArn', { value: this.failedInvocationQueue.queueArn });
    // The roles other accounts trust: member accounts' MemberRole (infra/member.yaml) trusts
    // tag-guard's, scan-gate's, janitor's and the fan-out planner's; a destination account's
    // replication role trusts the replicator's.
    for (const id of ['TagGuard', 'ScanGate', 'Replicator', 'Janitor']) {
      new CfnOutput(stack, `${id}RoleArn`, { value: this.functions[id].role!.roleArn });
    }
    new CfnOutput(stack, 'GraceScheduleGroupName', { value: graceGroup.ref });
    new CfnOutput(stack, 'EventBusArn', {
      value: `arn:${partition}:events:${region}:${account}:event-bus/default`,
    });
  }

  private readonly binaries: Record<string, string> = {};

  private rustFunction(spec: FunctionSpec): lambda.Function {
    const stackName = Stack.of(this).stackName;
    const logGroup = new logs.LogGroup(this, `${spec.id}Logs`, {
      logGroupName: `/aws/lambda/${stackName}-${spec.binary}`,
      retention: this.props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    suppress(logGroup, CHECKOV.logGroup);
    // Written out, not CDK's default role: no AWSLambdaBasicExecutionRole (logs on every group).
    const role = new iam.Role(this, `${spec.id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      inlinePolicies: {
        [spec.binary]: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'OwnLogs',
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [logGroup.logGroupArn],
            }),
            new iam.PolicyStatement({
              sid: 'OnFailureDestination',
              actions: ['sqs:SendMessage'],
              resources: [this.failedInvocationQueue.queueArn],
            }),
            ...spec.statements,
          ],
        }),
      },
    });
    const reserved = this.props.reservedConcurrency?.[spec.binary] || undefined;
    // `--package`: cargo selects this function's package alone, so it resolves only its features
    // (built for all at once, every bootstrap would carry every function's SDKs). The workspace
    // stays the build's folder, so Docker bundling (no local cargo-lambda) still sees it.
    const cargoLambdaFlags = [...(this.props.bundling?.cargoLambdaFlags ?? []), '--package', spec.binary];
    this.packages[spec.binary] = spec.binary;
    const fn = new RustFunction(this, `${spec.id}Function`, {
      manifestPath: this.props.manifestPath,
      binaryName: spec.binary,
      architecture: lambda.Architecture.ARM_64,
      bundling: {
        ...this.props.bundling,
        architecture: lambda.Architecture.ARM_64,
        cargoLambdaFlags,
        // Non-PIE like the benchmarked binaries (docs/benchmarks.md), as functions/<name>/.cargo/
        // config.toml has `sam build` build them; only the arm64 target's own code, never build
        // scripts or proc macros.
        environment: {
          ...(spec.positionIndependent ? {} : { CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS: '-C relocation-model=static' }),
          ...this.props.bundling?.environment,
        },
      },
      functionName: `${stackName}-${spec.binary}`,
      description: spec.description,
      role,
      timeout: spec.timeout,
      memorySize: spec.memorySize,
      reservedConcurrentExecutions: reserved,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: this.props.logLevel ?? lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      logGroup,
      environment: spec.environment,
      retryAttempts: spec.retryAttempts,
      maxEventAge: spec.maxEventAge,
      onFailure: new QueueDestination(this.failedInvocationQueue),
    });
    suppress(fn, reserved ? CHECKOV.function : [...CHECKOV.function, CHECKOV.unreserved]);
    this.functions[spec.id] = fn;
    this.binaries[spec.id] = spec.binary;
    return fn;
  }

  /**
   * Member accounts forward their aws.ecr and aws.inspector2 events to this default bus
   * (infra/member.yaml): the organization's accounts, or else exactly the listed ones, may put them.
   */
  private admitMemberEvents(props: EcrWardenProps): void {
    const bus = `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:event-bus/default`;
    // A statement id is at most 64 characters whatever the stack's name: the stack id's UUID part.
    const stackUuid = Fn.select(2, Fn.split('/', Aws.STACK_ID));
    if (props.organizationId) {
      if (!/^o-[a-z0-9]{10,32}$/.test(props.organizationId)) {
        throw new Error(`organizationId ${props.organizationId}: an organization id, o- and 10 to 32 letters or digits`);
      }
      new events.CfnEventBusPolicy(this, 'OrganizationBusPolicy', {
        eventBusName: 'default',
        statementId: `ecr-warden-org-${stackUuid}`,
        statement: {
          Effect: 'Allow',
          Principal: '*',
          Action: 'events:PutEvents',
          Resource: bus,
          Condition: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
        },
      });
    } else if (props.memberAccountIds?.length) {
      new events.CfnEventBusPolicy(this, 'MemberAccountsBusPolicy', {
        eventBusName: 'default',
        statementId: `ecr-warden-members-${stackUuid}`,
        statement: {
          Effect: 'Allow',
          Principal: { AWS: props.memberAccountIds },
          Action: 'events:PutEvents',
          Resource: bus,
        },
      });
    }
  }

  private rule(ruleId: string, fn: lambda.IFunction, eventPattern: events.EventPattern): void {
    const rule = new events.Rule(this, ruleId, { eventPattern });
    rule.addTarget(this.target(fn, RULE_RETRIES, Duration.hours(6)));
    this.rules[ruleId] = rule;
  }

  private schedule(ruleId: string, fn: lambda.IFunction, schedule: events.Schedule, description: string, retries: number): void {
    const rule = new events.Rule(this, ruleId, { schedule, description });
    rule.addTarget(this.target(fn, retries, Duration.hours(1)));
    this.rules[ruleId] = rule;
  }

  private target(fn: lambda.IFunction, retryAttempts: number, maxEventAge: Duration): targets.LambdaFunction {
    return new targets.LambdaFunction(fn, {
      deadLetterQueue: this.ruleDeadLetterQueue,
      retryAttempts,
      maxEventAge,
    });
  }
}
