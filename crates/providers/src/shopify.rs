//! Shopify Admin API (GraphQL) for publishing listings: check a store's token, stage an
//! image upload (`stagedUploadsCreate`, then PUT the bytes to the target), and create a
//! DRAFT product with its description, SEO fields, tags, metafields and the image with its
//! alt text (`productCreate` with `media`). Auth is the store's Admin API access token in
//! `X-Shopify-Access-Token` (a custom app's token, or one from OAuth).

use std::time::Duration;

use serde_json::{Value, json};

pub const API_VERSION: &str = "2025-01";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShopifyError {
    #[error("network error: {0}")]
    Transport(String),
    #[error("Shopify answered {status}: {message}")]
    Api { status: u16, message: String },
    /// The mutation ran and refused the input (`userErrors`).
    #[error("Shopify refused it: {0}")]
    Refused(String),
    #[error("unexpected reply: {0}")]
    Malformed(String),
}

/// A product to create as a draft.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub title: String,
    pub description_html: String,
    pub seo_title: String,
    pub seo_description: String,
    pub tags: Vec<String>,
    pub product_type: String,
    pub vendor: String,
    /// (key, value) in the `soraipixel` namespace, single-line text.
    pub metafields: Vec<(String, String)>,
    pub image: Vec<u8>,
    pub image_mime: String,
    pub image_name: String,
    pub alt: String,
}

#[derive(Clone)]
pub struct Shopify {
    http: reqwest::Client,
    /// `https://{shop}` (or a FAKE's address).
    base_url: String,
    token: String,
}

/// `name.myshopify.com`, lower-case; anything else is refused.
pub fn shop_domain(input: &str) -> Option<String> {
    let s = input.trim().trim_start_matches("https://").trim_end_matches('/').to_ascii_lowercase();
    let name = s.strip_suffix(".myshopify.com")?;
    let ok = !name.is_empty() && name.len() <= 60 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some(s)
}

impl Shopify {
    pub fn new(base_url: &str, token: &str) -> Result<Self, ShopifyError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ShopifyError::Transport(e.to_string()))?;
        Ok(Self { http, base_url: base_url.trim_end_matches('/').to_owned(), token: token.to_owned() })
    }

    /// One GraphQL call; throttled calls (429, or `THROTTLED`) are tried again after a pause,
    /// as Shopify asks (a throttled request did nothing).
    async fn graphql(&self, query: &str, variables: Value) -> Result<Value, ShopifyError> {
        let url = format!("{}/admin/api/{API_VERSION}/graphql.json", self.base_url);
        let body = json!({ "query": query, "variables": variables });
        for attempt in 0..4u64 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
            }
            let response = self
                .http
                .post(&url)
                .header("X-Shopify-Access-Token", &self.token)
                .json(&body)
                .send()
                .await
                .map_err(|e| ShopifyError::Transport(e.without_url().to_string()))?;
            let status = response.status().as_u16();
            let v: Value = response.json().await.unwrap_or(Value::Null);
            let throttled = status == 429
                || v["errors"].as_array().is_some_and(|e| e.iter().any(|e| e["extensions"]["code"] == "THROTTLED"));
            if throttled {
                continue;
            }
            if !(200..300).contains(&status) {
                let message = v["errors"].as_str().map(str::to_owned).unwrap_or_else(|| v["errors"].to_string());
                return Err(ShopifyError::Api { status, message: message.chars().take(300).collect() });
            }
            if let Some(errors) = v["errors"].as_array().filter(|e| !e.is_empty()) {
                let message: Vec<&str> = errors.iter().filter_map(|e| e["message"].as_str()).collect();
                return Err(ShopifyError::Malformed(message.join("; ")));
            }
            return Ok(v["data"].clone());
        }
        Err(ShopifyError::Api { status: 429, message: "throttled".into() })
    }

    /// The store's name: checks the token works.
    pub async fn shop_name(&self) -> Result<String, ShopifyError> {
        let data = self.graphql("query { shop { name myshopifyDomain } }", json!({})).await?;
        data["shop"]["name"].as_str().map(str::to_owned).ok_or_else(|| ShopifyError::Malformed("no shop".into()))
    }

    fn user_errors(payload: &Value) -> Result<(), ShopifyError> {
        match payload["userErrors"].as_array().filter(|e| !e.is_empty()) {
            Some(errors) => {
                let text: Vec<&str> = errors.iter().filter_map(|e| e["message"].as_str()).collect();
                Err(ShopifyError::Refused(text.join("; ")))
            }
            None => Ok(()),
        }
    }

    /// Creates the draft product with its image; returns the product's GID.
    pub async fn create_draft(&self, d: &Draft) -> Result<String, ShopifyError> {
        const STAGE: &str = "mutation stage($input: [StagedUploadInput!]!) { stagedUploadsCreate(input: $input) { \
            stagedTargets { url resourceUrl parameters { name value } } userErrors { field message } } }";
        let input =
            json!([{ "resource": "IMAGE", "filename": d.image_name, "mimeType": d.image_mime, "httpMethod": "PUT" }]);
        let staged = self.graphql(STAGE, json!({ "input": input })).await?;
        let payload = &staged["stagedUploadsCreate"];
        Self::user_errors(payload)?;
        let target = &payload["stagedTargets"][0];
        let (Some(url), Some(resource)) = (target["url"].as_str(), target["resourceUrl"].as_str()) else {
            return Err(ShopifyError::Malformed("no staged upload target".into()));
        };
        let mut put = self.http.put(url).header("Content-Type", &d.image_mime).body(d.image.clone());
        for p in target["parameters"].as_array().into_iter().flatten() {
            if let (Some(name), Some(value)) = (p["name"].as_str(), p["value"].as_str())
                && name.eq_ignore_ascii_case("acl")
            {
                put = put.header("x-goog-acl", value);
            }
        }
        let uploaded = put.send().await.map_err(|e| ShopifyError::Transport(e.without_url().to_string()))?;
        if !uploaded.status().is_success() {
            return Err(ShopifyError::Api {
                status: uploaded.status().as_u16(),
                message: "image upload refused".into(),
            });
        }
        const CREATE: &str = "mutation create($product: ProductCreateInput!, $media: [CreateMediaInput!]) { \
            productCreate(product: $product, media: $media) { product { id status } userErrors { field message } } }";
        let metafields: Vec<Value> = d
            .metafields
            .iter()
            .map(|(k, v)| json!({ "namespace": "soraipixel", "key": k, "type": "single_line_text_field", "value": v }))
            .collect();
        let product = json!({
            "title": d.title,
            "descriptionHtml": d.description_html,
            "status": "DRAFT",
            "tags": d.tags,
            "productType": d.product_type,
            "vendor": d.vendor,
            "seo": { "title": d.seo_title, "description": d.seo_description },
            "metafields": metafields,
        });
        let media = json!([{ "originalSource": resource, "alt": d.alt, "mediaContentType": "IMAGE" }]);
        let created = self.graphql(CREATE, json!({ "product": product, "media": media })).await?;
        let payload = &created["productCreate"];
        Self::user_errors(payload)?;
        payload["product"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ShopifyError::Malformed("no product id".into()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_myshopify_domains() {
        assert_eq!(
            super::shop_domain(" https://Meera-Jewels.myshopify.com/ ").as_deref(),
            Some("meera-jewels.myshopify.com")
        );
        assert_eq!(super::shop_domain("evil.com/x.myshopify.com"), None);
        assert_eq!(super::shop_domain("attacker.example"), None);
        assert_eq!(super::shop_domain(".myshopify.com"), None);
    }
}
