/**
 * The construct's CloudWatch alarms: per function its own EMF Errors, Lambda's Errors and
 * Throttles; janitor's duration; the depth of each dead-letter queue; the findings queue's oldest
 * message; each EventBridge rule's failed invocations. With an alarm topic, each alarm notifies it
 * on ALARM and on OK.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** What the alarms watch. */
export interface AlarmSources {
  /** The functions by construct id, and each one's binary (its name in the EMF dimension). */
  readonly functions: Record<string, lambda.IFunction>;
  readonly binaries: Record<string, string>;
  readonly janitor: lambda.IFunction;
  /** Each dead-letter queue: construct id, queue, what a message in it means. */
  readonly deadLetterQueues: [string, sqs.IQueue, string][];
  readonly findingsQueue: sqs.IQueue;
  readonly rules: Record<string, events.Rule>;
  readonly alarmTopic?: sns.ITopic;
}

/** Add the alarms to `scope` (their construct ids, and so their logical ids, are scope-relative). */
export function addAlarms(scope: Construct, sources: AlarmSources): void {
  const alarm = (alarmId: string, description: string, metric: cloudwatch.IMetric, threshold: number) => {
    const created = new cloudwatch.Alarm(scope, alarmId, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (sources.alarmTopic) {
      created.addAlarmAction(new actions.SnsAction(sources.alarmTopic));
      created.addOkAction(new actions.SnsAction(sources.alarmTopic));
    }
  };
  const fiveMinutes = Duration.minutes(5);
  for (const [alarmId, fn] of Object.entries(sources.functions)) {
    const name = sources.binaries[alarmId];
    // Its own EMF Errors: acknowledged errors (AccessDenied, NotFound, a Slack 4xx) leave
    // Lambda's Errors at 0.
    alarm(
      `${alarmId}WardenErrorsAlarm`,
      `ecr-warden ${name} - an event ended in an error (EMF Errors, namespace ecr-warden)`,
      new cloudwatch.Metric({
        namespace: 'ecr-warden',
        metricName: 'Errors',
        dimensionsMap: { function: name },
        statistic: 'Sum',
        period: fiveMinutes,
      }),
      1,
    );
    alarm(
      `${alarmId}LambdaErrorsAlarm`,
      `ecr-warden ${name} - invocations failed (Lambda Errors)`,
      fn.metricErrors({ statistic: 'Sum', period: fiveMinutes }),
      1,
    );
    alarm(
      `${alarmId}ThrottlesAlarm`,
      `ecr-warden ${name} - invocations throttled`,
      fn.metricThrottles({ statistic: 'Sum', period: fiveMinutes }),
      1,
    );
  }
  alarm(
    'JanitorDurationAlarm',
    'ecr-warden janitor - a run took over 90% of its 900 s timeout',
    sources.janitor.metricDuration({ statistic: 'Maximum', period: Duration.hours(1) }),
    810000,
  );
  for (const [queueId, queue, what] of sources.deadLetterQueues) {
    alarm(
      `${queueId}DepthAlarm`,
      `ecr-warden - ${what}`,
      queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: fiveMinutes }),
      1,
    );
  }
  alarm(
    'FindingsQueueAgeAlarm',
    'ecr-warden scan-gate - Inspector finding messages waiting over 30 minutes',
    sources.findingsQueue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: fiveMinutes }),
    1800,
  );
  for (const [ruleId, rule] of Object.entries(sources.rules)) {
    alarm(
      `${ruleId}FailedAlarm`,
      `ecr-warden - rule ${ruleId} failed to invoke its target`,
      new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'FailedInvocations',
        dimensionsMap: { RuleName: rule.ruleName },
        statistic: 'Sum',
        period: fiveMinutes,
      }),
      1,
    );
  }
}
