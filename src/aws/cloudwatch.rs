//! CloudWatch: the alarms a blue/green, canary or linear deployment (or a rolling one) watches.

use aws_sdk_cloudwatch::types::AlarmType;
use aws_sdk_cloudwatch::Client;

use super::AwsError;

const SERVICE: &str = "cloudwatch";

/// Which of `names` no metric or composite alarm of the account and region has: DescribeAlarms
/// by name, 100 at a time (the API's limit), every page.
pub async fn missing_alarms(client: &Client, names: &[String]) -> Result<Vec<String>, AwsError> {
    let mut found = std::collections::BTreeSet::new();
    for chunk in names.chunks(100) {
        let mut token = None;
        for _ in 0..100 {
            let page = client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(SERVICE, "DescribeAlarms", e))?;
            found.extend(
                page.metric_alarms()
                    .iter()
                    .filter_map(|a| a.alarm_name())
                    .map(str::to_string),
            );
            found.extend(
                page.composite_alarms()
                    .iter()
                    .filter_map(|a| a.alarm_name())
                    .map(str::to_string),
            );
            match page.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
    }
    Ok(names
        .iter()
        .filter(|n| !found.contains(*n))
        .cloned()
        .collect())
}
