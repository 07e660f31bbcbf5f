// Assertions on the synthesized stack (bundling skipped: these check the template, not the
// binaries; `make synth` bundles with cargo-lambda). The same rules infra/template.yaml follows.

import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EcrWardenStack } from '../lib/stack';

function synth(context: Record<string, string> = {}): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return Template.fromStack(new EcrWardenStack(app, 'ecr-warden'));
}

const template = synth();
const resources = (type: string) => template.findResources(type);

/** Every action the role of the function named `<stack>-<binary>` is granted. */
function actionsOf(binary: string): string[] {
  const [fn] = Object.values(resources('AWS::Lambda::Function')).filter(
    (r) => r.Properties.FunctionName === `ecr-warden-${binary}`,
  );
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const role = resources('AWS::IAM::Role')[roleId];
  const statements = role.Properties.Policies.flatMap(
    (p: { PolicyDocument: { Statement: { Action: string | string[] }[] } }) => p.PolicyDocument.Statement,
  );
  return statements.flatMap((s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
}

describe('functions', () => {
  // Lambda gives a JSON line without a "level" key the level INFO: WARN and above would drop the
  // EMF summary lines the alarms read.
  test('the log level is INFO at most', () => {
    expect(() => synth({ logLevel: 'WARN' })).toThrow(/logLevel WARN/);
    expect(() => synth({ logLevel: 'FATAL' })).toThrow(/logLevel FATAL/);
    synth({ logLevel: 'DEBUG' }).hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'DEBUG' }),
    });
  });


  test.each(['tag-guard', 'scan-gate', 'replicator', 'notifier', 'janitor'])('%s: arm64, provided.al2023, JSON logs in its own group', (binary) => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: `ecr-warden-${binary}`,
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
      Handler: 'bootstrap',
      LoggingConfig: { LogFormat: 'JSON', SystemLogLevel: 'WARN', LogGroup: Match.anyValue() },
      Environment: {
        Variables: {
          WARDEN_POLICY_SSM: '/ecr-warden/policy',
          WARDEN_DRY_RUN: 'true',
          WARDEN_TABLE: Match.anyValue(),
          WARDEN_TOPIC_ARN: Match.anyValue(),
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/aws/lambda/ecr-warden-${binary}`,
      RetentionInDays: 365,
    });
  });

  test('janitor: 15 minutes, no async retry', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'ecr-warden-janitor',
      Timeout: 900,
    });
    const configs = Object.values(resources('AWS::Lambda::EventInvokeConfig'));
    expect(configs).toHaveLength(5);
    expect(configs.map((c) => c.Properties.MaximumRetryAttempts).sort()).toEqual([0, 2, 2, 2, 2]);
    for (const config of configs) {
      expect(config.Properties.DestinationConfig.OnFailure.Destination).toBeDefined();
    }
  });

  // Lambda keeps 100 units of the account's quota unreserved; new accounts often have a quota of
  // 10 or 50, where any reservation fails the stack's creation.
  test('no concurrency is reserved unless asked, then exactly what was asked', () => {
    for (const fn of Object.values(resources('AWS::Lambda::Function'))) {
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
    const reserved = synth({ tagGuardReservedConcurrency: '10', janitorReservedConcurrency: '1', scanGateReservedConcurrency: '0' });
    const byName = Object.fromEntries(
      Object.values(reserved.findResources('AWS::Lambda::Function')).map((r) => [
        r.Properties.FunctionName,
        r.Properties.ReservedConcurrentExecutions,
      ]),
    );
    expect(byName).toEqual({
      'ecr-warden-tag-guard': 10,
      'ecr-warden-scan-gate': undefined,
      'ecr-warden-replicator': undefined,
      'ecr-warden-notifier': undefined,
      'ecr-warden-janitor': 1,
    });
    expect(() => synth({ notifierReservedConcurrency: '-1' })).toThrow(/notifierReservedConcurrency -1/);
    expect(() => synth({ replicatorReservedConcurrency: 'five' })).toThrow(/replicatorReservedConcurrency five/);
  });

  // cargo unifies the features of every package one build selects: built at the workspace root,
  // each bootstrap would carry every function's SDKs (tests/infra/features.py checks the graph).
  test('each function is built as its own package alone (--package), not the whole workspace', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new EcrWardenStack(app, 'ecr-warden');
    for (const binary of ['tag-guard', 'scan-gate', 'replicator', 'notifier', 'janitor']) {
      expect(stack.warden.packages[binary]).toBe(binary);
    }
  });

  test('no role carries a managed policy (AWSLambdaBasicExecutionRole grants logs everywhere)', () => {
    for (const role of Object.values(resources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    expect(Object.keys(resources('AWS::IAM::Policy'))).toHaveLength(0);
  });
});

describe('event sources', () => {
  test('push: PUSH and SUCCESS only, pinned to the account, retried then dead-lettered', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        account: [{ Ref: 'AWS::AccountId' }],
        detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
      },
      Targets: [
        Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 21600 },
          DeadLetterConfig: { Arn: Match.anyValue() },
        }),
      ],
    });
  });

  // ECR's own replication emits `ECR Replication Action` in the destination region, never a PUSH.
  test('native replication: successful copies into this registry reach tag-guard', () => {
    const rules = Object.values(resources('AWS::Events::Rule')).filter(
      (r) => JSON.stringify(r.Properties.EventPattern?.['detail-type']) === '["ECR Replication Action"]',
    );
    expect(rules).toHaveLength(1);
    expect(rules[0].Properties.EventPattern.detail).toEqual({ result: ['SUCCESS'] });
    expect(JSON.stringify(rules[0].Properties.Targets[0].Arn)).toContain('TagGuardFunction');
  });

  test('CloudTrail: the two calls tag-guard decides from, successful ones only', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: {
          eventSource: ['ecr.amazonaws.com'],
          eventName: ['CreateRepository', 'PutImageTagMutability'],
          errorCode: [{ exists: false }],
        },
      }),
    });
  });

  test('pushes reach tag-guard, scan-gate (a tag pushed onto a failed image is taken away) and the replicator', () => {
    const pushes = Object.values(resources('AWS::Events::Rule')).filter(
      (r) => r.Properties.EventPattern?.['detail-type']?.[0] === 'ECR Image Action',
    );
    const targets = pushes.map((r) => JSON.stringify(r.Properties.Targets[0].Arn));
    for (const fn of ['TagGuard', 'ScanGate', 'Replicator']) {
      expect(targets.filter((t) => t.includes(fn))).toHaveLength(1);
    }
    for (const rule of pushes) {
      expect(rule.Properties.EventPattern.detail).toEqual({ 'action-type': ['PUSH'], result: ['SUCCESS'] });
    }
  });

  // A Notation signature pushed with the OCI 1.1 referrers API arrives as `ECR Referrer Action`;
  // the event may carry no result, so none is required (scan-gate drops a failed push itself).
  test('referrer pushes reach scan-gate alone, from this account and the member accounts', () => {
    const referrers = Object.values(resources('AWS::Events::Rule')).filter(
      (r) => JSON.stringify(r.Properties.EventPattern?.['detail-type']) === '["ECR Referrer Action"]',
    );
    expect(referrers).toHaveLength(1);
    expect(referrers[0].Properties.EventPattern).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Referrer Action'],
      account: [{ Ref: 'AWS::AccountId' }],
      detail: { 'action-type': ['PUSH'] },
    });
    expect(JSON.stringify(referrers[0].Properties.Targets[0].Arn)).toContain('ScanGateFunction');
    expect(referrers[0].Properties.Targets[0]).toMatchObject({
      RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 21600 },
      DeadLetterConfig: { Arn: expect.anything() },
    });
  });

  test('scans: basic scans of every result and Inspector scans', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ecr'], 'detail-type': ['ECR Image Scan'], account: Match.anyValue() },
    });
    // Only scans of ECR images: Inspector sends `Inspector2 Scan` for EC2 and Lambda too.
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.inspector2'],
        'detail-type': ['Inspector2 Scan'],
        account: Match.anyValue(),
        detail: { 'repository-name': [{ exists: true }] },
      },
    });
  });

  test('Inspector findings on ECR images go to the queue raw, and the queue to scan-gate in batches', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        'detail-type': ['Inspector2 Finding'],
        detail: { resources: { type: ['AWS_ECR_CONTAINER_IMAGE'] } },
      }),
      Targets: [Match.objectLike({ Arn: Match.anyValue(), InputTransformer: Match.absent() })],
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 20,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    // Visibility timeout >= 6x scan-gate's 120 s timeout; 5 receives, then the dead-letter queue.
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 720,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
    });
  });

  // scan-gate makes its grace deadlines' one-time schedules itself, at run time, in its group.
  test('schedules are EventBridge rules (Scheduler sends no Scheduled Event envelope)', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(6 hours)' });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 3 * * ? *)' });
    expect(Object.keys(resources('AWS::Scheduler::Schedule'))).toHaveLength(0);
  });

  // With the fan-out engine its schedules replace janitor's and tag-guard's own; their event rules
  // stay (SAM: condition FanOutDisabled on JanitorFunctionRun and TagGuardFunctionSweep).
  test('the fan-out engine replaces janitor\'s and tag-guard\'s own schedules', () => {
    const schedulesOf = (t: Template) =>
      Object.entries(t.findResources('AWS::Events::Rule'))
        .filter(([, r]) => r.Properties.ScheduleExpression !== undefined)
        .map(([, r]) => ({ schedule: r.Properties.ScheduleExpression, target: JSON.stringify(r.Properties.Targets[0].Arn) }));
    const patterns = (t: Template) =>
      Object.values(t.findResources('AWS::Events::Rule')).filter((r) => r.Properties.EventPattern !== undefined).length;
    const lambdaTargets = (t: Template) => schedulesOf(t).filter((s) => /Janitor|TagGuard/.test(s.target));
    expect(lambdaTargets(template)).toHaveLength(2);
    const engine = synth({ fanOut: 'enabled' });
    expect(lambdaTargets(engine)).toHaveLength(0);
    // The engine's three schedules start the state machine instead.
    expect(schedulesOf(engine).filter((s) => s.target.includes('FanOutStateMachine'))).toHaveLength(3);
    expect(patterns(engine)).toBe(patterns(template));
    const failed = (t: Template) =>
      Object.keys(t.findResources('AWS::CloudWatch::Alarm')).filter((id) => /TagGuardFunctionSweep|JanitorFunctionRun/.test(id));
    expect(failed(template)).toHaveLength(2);
    expect(failed(engine)).toHaveLength(0);
  });

  test('the notifier is subscribed to the warden topic, with a dead-letter queue', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue() },
    });
  });

  test('the replicator hears PASS verdicts only, and pushes of this account', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      FilterPolicy: { verdict: ['PASS'] },
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue() },
    });
    expect(Object.keys(resources('AWS::SNS::Subscription'))).toHaveLength(2);
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'ecr-warden-replicator',
      Timeout: 900,
      MemorySize: 1024,
    });
  });
});

describe('state', () => {
  test('the table: pk, TTL, point-in-time recovery, retained with the stack gone', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    });
  });

  test('the topic is encrypted; every queue too', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    const queues = Object.values(resources('AWS::SQS::Queue'));
    expect(queues).toHaveLength(4);
    for (const queue of queues) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
  });
});

describe('IAM: exactly what the code calls (tests/infra/iam_check.py checks it against the code)', () => {
  test('tag-guard', () => {
    expect(actionsOf('tag-guard')).toEqual([
      'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem',
      'ecr:BatchGetImage', 'ecr:DescribeImages', 'ecr:DescribeRepositories', 'ecr:PutImage', 'ecr:PutImageTagMutability',
      'logs:CreateLogStream', 'logs:PutLogEvents', 'sns:Publish', 'sqs:SendMessage', 'ssm:GetParameter',
    ]);
  });

  test('scan-gate: no repository settings or lifecycle writes; Inspector reads; its queue', () => {
    const actions = actionsOf('scan-gate');
    expect(actions).not.toContain('ecr:PutImageTagMutability');
    expect(actions).not.toContain('ecr:PutLifecyclePolicy');
    expect(actions).toContain('inspector2:ListFindings');
    expect(actions).toContain('sqs:ReceiveMessage');
    expect(actions).toContain('dynamodb:ConditionCheckItem');
  });

  // docs/signatures.md: a signature's payload is a layer; an unsigned image waits for a
  // one-time schedule that invokes scan-gate again when its grace ends.
  test('scan-gate: signature payloads, and grace deadlines in its own group through its own role', () => {
    const [fnId, fn] = Object.entries(resources('AWS::Lambda::Function')).find(
      ([, r]) => r.Properties.FunctionName === 'ecr-warden-scan-gate',
    )!;
    const [groupId, group] = Object.entries(resources('AWS::Scheduler::ScheduleGroup'))[0];
    expect(Object.keys(resources('AWS::Scheduler::ScheduleGroup'))).toHaveLength(1);
    expect(group.Properties.Name).toBe('ecr-warden-grace');
    const roles = resources('AWS::IAM::Role');
    const [graceRoleId, graceRole] = Object.entries(roles).find(
      ([, r]) => r.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service === 'scheduler.amazonaws.com',
    )!;
    expect(fn.Properties.Environment.Variables).toMatchObject({
      WARDEN_GRACE_SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': [graceRoleId, 'Arn'] },
      WARDEN_GRACE_SCHEDULE_GROUP: { Ref: groupId },
    });
    for (const binary of ['tag-guard', 'replicator', 'notifier', 'janitor']) {
      const other = Object.values(resources('AWS::Lambda::Function')).find(
        (r) => r.Properties.FunctionName === `ecr-warden-${binary}`,
      )!;
      expect(Object.keys(other.Properties.Environment.Variables)).not.toContain('WARDEN_GRACE_SCHEDULER_ROLE_ARN');
    }

    const actions = actionsOf('scan-gate');
    expect(actions).toContain('ecr:GetDownloadUrlForLayer');
    const statements = roles[fn.Properties.Role['Fn::GetAtt'][0]].Properties.Policies[0].PolicyDocument.Statement;
    const grant = (action: string) => statements.find((s: { Action: string | string[] }) => [s.Action].flat().includes(action));
    // Notation signatures AWS Signer made: their revocation, on the two resource types the Service
    // Authorization Reference requires (a signing job and a signing profile, any account).
    expect(grant('signer:GetRevocationStatus')).toMatchObject({
      Sid: 'SignerRevocations',
      Action: 'signer:GetRevocationStatus',
      Resource: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':signer:*:*:/signing-jobs/*']] },
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':signer:*:*:/signing-profiles/*']] },
      ],
    });
    expect(grant('scheduler:CreateSchedule').Resource).toEqual({
      'Fn::Join': ['', [
        'arn:', { Ref: 'AWS::Partition' }, ':scheduler:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' },
        ':schedule/', { Ref: groupId }, '/warden-grace-*',
      ]],
    });
    expect(grant('iam:PassRole')).toMatchObject({
      Resource: { 'Fn::GetAtt': [graceRoleId, 'Arn'] },
      Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    });

    // Scheduler's role: assumed for this account's group only; invokes scan-gate, nothing else.
    expect(graceRole.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [groupId, 'Arn'] } },
        },
      },
    ]);
    expect(graceRole.Properties.Policies).toBeUndefined();
    const invoke = Object.values(resources('AWS::IAM::RolePolicy'));
    expect(invoke).toHaveLength(1);
    expect(invoke[0].Properties.RoleName).toEqual({ Ref: graceRoleId });
    expect(invoke[0].Properties.PolicyDocument.Statement).toEqual([
      { Sid: 'InvokeScanGate', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fnId, 'Arn'] } },
    ]);
    expect(JSON.stringify(template.findOutputs('GraceScheduleGroupName'))).toContain(groupId);
  });

  test('notifier: its secrets, its log of what it sent, nothing of ECR', () => {
    expect(actionsOf('notifier')).toEqual([
      'dynamodb:DeleteItem', 'dynamodb:PutItem', 'logs:CreateLogStream', 'logs:PutLogEvents',
      'secretsmanager:GetSecretValue', 'sqs:SendMessage', 'ssm:GetParameter',
    ]);
  });

  test('replicator: reads its source, writes destinations in this account, reads verdicts', () => {
    expect(actionsOf('replicator')).toEqual([
      // Verdicts; a backfill shard's checkpoint.
      'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:GetItem', 'dynamodb:PutItem',
      'ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:CompleteLayerUpload', 'ecr:CreateRepository',
      'ecr:DescribeImages', 'ecr:DescribeImages', 'ecr:DescribeRepositories',
      'ecr:DescribeRepositoryCreationTemplates', 'ecr:GetDownloadUrlForLayer',
      'ecr:InitiateLayerUpload', 'ecr:PutImage', 'ecr:PutLifecyclePolicy', 'ecr:SetRepositoryPolicy',
      'ecr:TagResource', 'ecr:UploadLayerPart',
      'logs:CreateLogStream', 'logs:PutLogEvents', 'sns:Publish', 'sqs:SendMessage', 'ssm:GetParameter',
    ]);
    const withDestinations = synth({ replicationRoleArns: 'arn:aws:iam::210987654321:role/ecr-warden-replicator' });
    withDestinations.hasResourceProperties('AWS::IAM::Role', {
      Policies: [
        Match.objectLike({
          PolicyName: 'replicator',
          PolicyDocument: Match.objectLike({
            Statement: Match.arrayWith([
              Match.objectLike({
                Action: 'sts:AssumeRole',
                Resource: 'arn:aws:iam::210987654321:role/ecr-warden-replicator',
              }),
            ]),
          }),
        }),
      ],
    });
  });

  test('the table is reached only under each function\'s own key prefixes', () => {
    const prefixes = (binary: string) => {
      const [fn] = Object.values(resources('AWS::Lambda::Function')).filter(
        (r) => r.Properties.FunctionName === `ecr-warden-${binary}`,
      );
      const role = resources('AWS::IAM::Role')[fn.Properties.Role['Fn::GetAtt'][0]];
      const statement = role.Properties.Policies[0].PolicyDocument.Statement.find((s: { Action: string[] }) =>
        [s.Action].flat().some((a) => a.startsWith('dynamodb:')),
      );
      return statement.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys'];
    };
    expect(prefixes('tag-guard')).toEqual(['tag#*', 'verdict#*', 'checkpoint#*']);
    expect(prefixes('scan-gate')).toEqual(['verdict#*']);
    expect(prefixes('notifier')).toEqual(['notified#*']);
    expect(prefixes('replicator')).toEqual(['verdict#*']);
    expect(prefixes('janitor')).toEqual(['checkpoint#*']);
  });

  test('member accounts: sts:AssumeRole on their roles only when configured', () => {
    expect(actionsOf('tag-guard')).not.toContain('sts:AssumeRole');
    const withMembers = synth({
      memberAccountIds: '111122223333',
      memberAccountRoleArns: 'arn:aws:iam::111122223333:role/ecr-warden',
    });
    withMembers.hasResourceProperties('AWS::IAM::Role', {
      Policies: [
        Match.objectLike({
          PolicyDocument: Match.objectLike({
            Statement: Match.arrayWith([
              Match.objectLike({ Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::111122223333:role/ecr-warden' }),
            ]),
          }),
        }),
      ],
    });
    withMembers.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ account: [{ Ref: 'AWS::AccountId' }, '111122223333'] }),
    });
  });
});

describe('an organization', () => {
  const policies = (t: Template) => Object.values(t.findResources('AWS::Events::EventBusPolicy'));

  test('outputs: every role another account trusts, and the bus members forward to', () => {
    const outputs = template.findOutputs('*');
    for (const id of ['TagGuardRoleArn', 'ScanGateRoleArn', 'ReplicatorRoleArn']) {
      expect(JSON.stringify(outputs[id].Value)).toMatch(/Role.*Arn/);
    }
    expect(JSON.stringify(outputs.EventBusArn.Value)).toContain(':event-bus/default');
  });

  test('a single account admits no other account to its bus', () => {
    expect(policies(template)).toHaveLength(0);
  });

  test('the organization\'s accounts may put events on the default bus, conditioned on its id', () => {
    const [policy, ...others] = policies(synth({ organizationId: 'o-abcdef1234', memberAccountIds: '111122223333' }));
    expect(others).toHaveLength(0);
    expect(policy.Properties.EventBusName).toBe('default');
    expect(policy.Properties.Statement).toMatchObject({
      Effect: 'Allow',
      Principal: '*',
      Action: 'events:PutEvents',
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdef1234' } },
    });
    expect(() => synth({ organizationId: 'org-1' })).toThrow(/organizationId org-1/);
  });

  test('without an organization, exactly the listed member accounts may', () => {
    const [policy, ...others] = policies(synth({ memberAccountIds: '111122223333,444455556666' }));
    expect(others).toHaveLength(0);
    expect(policy.Properties.Statement.Principal).toEqual({ AWS: ['111122223333', '444455556666'] });
    expect(policy.Properties.Statement.Condition).toBeUndefined();
  });
});

describe('dashboard', () => {
  test('verdicts, quarantines, releases, reverts, deletions, bytes freed, copies, errors and queue depth', () => {
    const boards = Object.values(resources('AWS::CloudWatch::Dashboard'));
    expect(boards).toHaveLength(1);
    const body = JSON.stringify(boards[0].Properties.DashboardBody);
    for (const metric of [
      'VerdictsPass', 'VerdictsFail', 'ImagesQuarantined', 'ImagesReleased', 'TagsReverted',
      'ImagesDeleted', 'BytesFreed', 'Copies', 'BytesCopied', 'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    for (const binary of ['tag-guard', 'scan-gate', 'replicator', 'notifier', 'janitor']) {
      expect(body).toContain(`\\"ecr-warden\\",\\"Errors\\",\\"function\\",\\"${binary}\\"`);
    }
  });
});

describe('alarms', () => {
  test('per function: its EMF Errors, Lambda Errors and Throttles; plus janitor duration, queues and rules', () => {
    for (const binary of ['tag-guard', 'scan-gate', 'replicator', 'notifier', 'janitor']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'ecr-warden',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'function', Value: binary }],
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Duration',
      Threshold: 810000,
    });
    const alarms = Object.values(resources('AWS::CloudWatch::Alarm'));
    const count = (metric: string) => alarms.filter((a) => a.Properties.MetricName === metric).length;
    expect(count('Errors')).toBe(10);
    expect(count('Throttles')).toBe(5);
    expect(count('ApproximateNumberOfMessagesVisible')).toBe(3);
    expect(count('ApproximateAgeOfOldestMessage')).toBe(1);
    expect(count('FailedInvocations')).toBe(11);
    expect(alarms).toHaveLength(31);
  });

  test('an alarm topic, when given, is each alarm\'s action', () => {
    const withTopic = synth({ alarmTopicArn: 'arn:aws:sns:us-east-1:111122223333:alarms' });
    for (const alarm of Object.values(withTopic.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual(['arn:aws:sns:us-east-1:111122223333:alarms']);
    }
  });
});

describe('a state table a former stack left behind', () => {
  // The table is retained on delete: a redeployed stack adopts it, ledgers and verdicts intact.
  test('is used, not created, and the roles name it', () => {
    const adopted = synth({ existingStateTableName: 'ecr-warden-StateTable-OLD' });
    adopted.resourceCountIs('AWS::DynamoDB::Table', 0);
    adopted.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ WARDEN_TABLE: 'ecr-warden-StateTable-OLD' }) },
    });
    const roles = JSON.stringify(adopted.findResources('AWS::IAM::Role'));
    expect(roles).toContain(':table/ecr-warden-StateTable-OLD');
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
  });
});
