//! The generic JSON webhook: POSTed the message's JSON document (README "Notifications").
use super::{post_json, url_of, Message};
use crate::aliyun::AliyunClient;
use crate::error::{Error, Result};
use crate::https::Https;

pub async fn send(http: &Https, client: &AliyunClient, url: &str, message: &Message) -> Result<()> {
    let url = url_of(client, url, "webhook").await?;
    let rsp = post_json(http, &url, &message.json)
        .await
        .map_err(|e| Error::Other(format!("webhook: {e}")))?;
    if !rsp.status.is_success() {
        return Err(Error::Other(format!(
            "webhook answered HTTP {}",
            rsp.status
        )));
    }
    Ok(())
}
