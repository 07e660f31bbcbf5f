/** checkov's view of the construct's resources: each suppression with its reason. */
import { CfnResource } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/** checkov suppressions, each with its reason: the same as infra/template.yaml's. */
export const CHECKOV = {
  function: [
    {
      id: 'CKV_AWS_117',
      comment:
        'No VPC: the function reaches only AWS APIs (and Slack, for the notifier) over HTTPS, and no resource of its lives in a VPC.',
    },
    {
      id: 'CKV_AWS_173',
      comment:
        'The environment holds names and ARNs only (policy parameter, table, topic, dry-run); secrets live in Secrets Manager and are read at run time.',
    },
    {
      id: 'CKV_AWS_116',
      comment:
        'Failed asynchronous invocations go to an on-failure destination (EventInvokeConfig, FailedInvocationQueue), which records the error with the event; a legacy DeadLetterConfig would duplicate it without the error.',
    },
  ],
  /** Only where no concurrency is reserved for the function (the default). */
  unreserved: {
    id: 'CKV_AWS_115',
    comment:
      'No concurrency reserved unless the deployer asks (ReservedConcurrency parameters): Lambda keeps 100 units of the quota unreserved, so on accounts with a quota of 10 or 50 any reservation fails the stack. Throttled AWS calls are retried by the SDK, then by Lambda.',
  },
  queue: [
    {
      id: 'CKV_AWS_27',
      comment:
        'Encrypted at rest with SSE-SQS (SqsManagedSseEnabled), which this check does not recognise. EventBridge and SNS cannot send to a queue under the AWS managed KMS key (aws/sqs), and these queues hold event bodies, no secrets.',
    },
  ],
  logGroup: [
    {
      id: 'CKV_AWS_158',
      comment:
        'CloudWatch Logs encrypts at rest by default; the functions never log a secret (webhook URLs are redacted), so a customer managed key adds no confidentiality.',
    },
  ],
  bucket: [
    {
      id: 'CKV_AWS_18',
      comment:
        "No access logging: the bucket holds the engine's own working files (shard plans and map run results, no image or secret), written and read by this stack's roles only; CloudTrail data events can be turned on where an audit needs them.",
    },
    {
      id: 'CKV_AWS_144',
      comment:
        'No cross-region replication: the files are rebuilt by the next run and expire after 30 days; a copy in another region would serve no reader.',
    },
    {
      id: 'CKV_AWS_145',
      comment:
        "Encrypted at rest with SSE-S3 (AES256). A KMS key would add key grants to the state machine's and FanOutFunction's roles for files that hold repository names only.",
    },
  ],
  stateMachine: [
    {
      id: 'CKV_AWS_284',
      comment:
        "No X-Ray tracing: each state's errors go to the state machine's log group and each function logs its own run; tracing would add X-Ray grants to the role for no reader.",
    },
  ],
  table: [
    {
      id: 'CKV_AWS_119',
      comment:
        'Encrypted with the AWS managed key (aws/dynamodb). The table holds tags, digests, verdicts and checkpoints, no secrets; a customer managed key would add a KMS grant to every function role for no confidentiality gain.',
    },
  ],
};

export function suppress(construct: Construct, skip: { id: string; comment: string }[]): void {
  (construct.node.defaultChild as CfnResource).addMetadata('checkov', { skip });
}
