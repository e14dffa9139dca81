"""Creates a CloudWatch metric alarm in the emulator (when it does not exist) and sets its state,
as `aws cloudwatch put-metric-alarm` and `set-alarm-state` would. boto3 speaks CloudWatch's
query protocol, which moto serves; slipway's SDK reads the alarms over RPC v2 CBOR (emulator.py).

Usage: alarm.py --endpoint URL --region R --name NAME [--state OK|ALARM|INSUFFICIENT_DATA]
"""

import argparse

import boto3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="eu-west-1")
    ap.add_argument("--name", required=True)
    ap.add_argument("--state", choices=["OK", "ALARM", "INSUFFICIENT_DATA"])
    args = ap.parse_args()
    cw = boto3.client("cloudwatch", endpoint_url=args.endpoint, region_name=args.region,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    if not cw.describe_alarms(AlarmNames=[args.name])["MetricAlarms"]:
        cw.put_metric_alarm(AlarmName=args.name, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanThreshold")
    if args.state:
        cw.set_alarm_state(AlarmName=args.name, StateValue=args.state, StateReason="set by tests/harness/alarm.py")


if __name__ == "__main__":
    main()
