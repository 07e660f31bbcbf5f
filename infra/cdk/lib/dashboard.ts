/**
 * The construct's CloudWatch dashboard: what the functions did, from their EMF summary lines
 * (namespace ecr-warden, dimension function), beside Lambda's errors and the queues that hold what
 * failed. The same widgets and metrics as infra/template.yaml's `Dashboard`.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** What the dashboard shows. */
export interface DashboardSources {
  /** The functions by binary name (their name in the EMF dimension). */
  readonly functions: Record<string, lambda.IFunction>;
  /** The dead-letter and failed-invocation queues. */
  readonly queues: sqs.IQueue[];
}

export function addDashboard(scope: Construct, sources: DashboardSources): cloudwatch.Dashboard {
  const period = Duration.minutes(5);
  const emf = (name: string, fn: string, statistic = 'Sum') =>
    new cloudwatch.Metric({ namespace: 'ecr-warden', metricName: name, dimensionsMap: { function: fn }, statistic, period });
  const graph = (title: string, left: cloudwatch.IMetric[], width = 8, right: cloudwatch.IMetric[] = []) =>
    new cloudwatch.GraphWidget({ title, left, right, width, height: 6, period, statistic: 'Sum' });
  const binaries = ['tag-guard', 'scan-gate', 'replicator', 'notifier', 'janitor'];
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: `${Aws.STACK_NAME}-${Aws.REGION}`,
  });
  dashboard.addWidgets(
    graph('scan-gate: evaluations by verdict', [emf('VerdictsPass', 'scan-gate'), emf('VerdictsFail', 'scan-gate')]),
    graph('scan-gate: quarantines and releases', [
      emf('ImagesQuarantined', 'scan-gate'),
      emf('ImagesReleased', 'scan-gate'),
      emf('QuarantinesFailed', 'scan-gate'),
      emf('TagsRemovedElsewhere', 'scan-gate'),
    ]),
    graph('tag-guard: reverts and repository fixes', [emf('TagsReverted', 'tag-guard'), emf('RepositoriesFixed', 'tag-guard')]),
  );
  dashboard.addWidgets(
    graph('janitor: images deleted and bytes freed', [emf('ImagesDeleted', 'janitor'), emf('DeleteFailures', 'janitor')], 8, [
      emf('BytesFreed', 'janitor'),
    ]),
    graph('replicator: copies and bytes copied', [emf('Copies', 'replicator')], 8, [emf('BytesCopied', 'replicator')]),
    graph('notifier: Slack messages posted', [emf('Posted', 'notifier')]),
  );
  dashboard.addWidgets(
    graph(
      'errors per function (ecr-warden Errors: acknowledged; AWS/Lambda Errors: retried)',
      [
        ...binaries.map((b) => emf('Errors', b)),
        ...binaries.map((b) => sources.functions[b].metricErrors({ statistic: 'Sum', period })),
      ],
      12,
    ),
    new cloudwatch.GraphWidget({
      title: 'dead-letter and failed-invocation queues: messages waiting',
      left: sources.queues.map((q) => q.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period })),
      width: 12,
      height: 6,
      period,
      statistic: 'Maximum',
    }),
  );
  return dashboard;
}
