//! Listing copy from photos: brand profiles, batches of up to 200 listings written in the
//! queue (one job per listing, so a batch resumes where it stopped), per-item regenerate
//! and edit, and CSV / XLSX export. The text/vision model writes JSON that must follow the
//! listing schema; lengths and banned words are then enforced in code (one repair pass by
//! the model first). Without a model, a local listing is built from the seller's notes and
//! what the engine measures in the photo.

use std::time::Instant;

use db::cloud::ProviderCall;
use db::ledger::Outcome;
use db::listings::{LISTING_JOB, ListingBatch, ListingRow, Written};
use db::queue::Job;
use domain::listing::{BrandProfile, Lengths, Listing, length_problems, length_problems_besides_title, safe_cell};
use imaging::Format;
use jobs::{Handler, HandlerFuture, JobContext, JobError};
use providers::ai::{Image, Question};
use serde::Deserialize;

use crate::sessions::Principal;
use crate::{App, AppError, Client, Result, now_ms};

/// At most this many photos in one listing batch.
pub const MAX_LISTINGS: usize = 200;

/// `POST /api/v1/listings/batches`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub upload_ids: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// The jewellery type of every photo (prompt library id)…
    pub jewellery: String,
    /// …except these photos' own (upload id → prompt library id).
    #[serde(default)]
    pub jewellery_of: std::collections::BTreeMap<String, String>,
    /// Seller's notes for every listing (materials, sizes…), at most 500 characters.
    #[serde(default)]
    pub notes: String,
}

/// A listing with its content parsed, as pages and the API show it.
#[derive(Debug, serde::Serialize)]
pub struct ListingView {
    #[serde(flatten)]
    pub row: ListingRow,
    pub listing: Option<Listing>,
    pub description_html: Option<String>,
    /// A word for the seller when the title is outside the marketplaces' range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_note: Option<String>,
}

pub(crate) fn view(row: ListingRow, lengths: Lengths) -> ListingView {
    let listing: Option<Listing> = row.content.as_deref().and_then(|c| serde_json::from_str(c).ok());
    let description_html = listing.as_ref().map(Listing::description_html);
    let title_note = listing.as_ref().and_then(|l| l.title_note(lengths));
    ListingView { row, listing, description_html, title_note }
}

fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> AppError {
    domain::Invalid::new(code, field, message.into()).into()
}

/// The JSON the model must return (Gemini's response schema, OpenAPI subset).
fn schema() -> serde_json::Value {
    let text = serde_json::json!({ "type": "string" });
    let list = serde_json::json!({ "type": "array", "items": { "type": "string" } });
    serde_json::json!({
        "type": "object",
        "properties": {
            "title": text, "paragraphs": list, "bullets": list, "meta_description": text, "alt_text": text,
            "attributes": { "type": "object", "properties": {
                "material": text, "stone": text, "closure": text, "collection": text, "occasion": text } },
            "tags": list,
        },
        "required": ["title", "paragraphs", "meta_description", "alt_text", "attributes"]
    })
}

/// What the engine can tell about the piece without a model.
struct Measured {
    metal: &'static str,
    width: u32,
    height: u32,
    jpeg: Vec<u8>,
}

/// The nearest metal name to the piece's mean colour, from its cutout.
fn measure(photo: &[u8], limits: &imaging::Limits) -> std::result::Result<Measured, imaging::ImagingError> {
    let decoded = imaging::decode(photo, limits)?.within_pixels(4_000_000)?;
    let jpeg = imaging::convert(&decoded, 1024, Format::Jpeg, 85)?;
    // Only the metal's colour and the piece's box are needed: any background will do.
    let m = imaging::cutout(&decoded, &imaging::MatteParams { refuse_unsuitable: false, ..Default::default() })?;
    let b = imaging::frame::subject_bbox(&m.alpha, 128).ok_or(imaging::ImagingError::NoSubjectFound)?;
    let (mut sum, mut n) = ([0f64; 3], 0f64);
    for (x, y, a) in m.alpha.enumerate_pixels() {
        if a.0[0] >= 200 {
            let p = m.foreground.get_pixel(x, y).0;
            (0..3).for_each(|c| sum[c] += f64::from(p[c]));
            n += 1.0;
        }
    }
    let [r, g, bl] = sum.map(|s| s / n.max(1.0));
    // Hue and saturation of the mean colour: grey is silver, orange-red rose gold, yellow gold.
    let (max, min) = (r.max(g).max(bl), r.min(g).min(bl));
    let saturation = if max > 0.0 { (max - min) / max } else { 0.0 };
    let hue = if max - min < 1e-6 || max != r { 60.0 } else { 60.0 * ((g - bl) / (max - min)) };
    let metal = match (saturation, hue) {
        (s, _) if s < 0.18 => "silver",
        (_, h) if h < 20.0 => "rose gold",
        _ => "gold",
    };
    Ok(Measured { metal, width: b.width(), height: b.height(), jpeg })
}

/// A listing from the notes and the measurements alone.
fn local_listing(brand: &BrandProfile, kind: &str, notes: &str, m: &Measured) -> Listing {
    let collection = brand.collections.first().cloned().unwrap_or_default();
    let named = brand.title_from(m.metal, "", kind, &collection);
    let first_note = notes.trim().split(['.', ';', '\n']).next().unwrap_or_default().trim();
    let title = if first_note.is_empty() { named } else { format!("{named} | {first_note}") };
    let notes = notes.trim();
    let mut paragraphs = vec![format!("A {} {kind} from {}.", m.metal, brand.brand_name)];
    if !notes.is_empty() {
        paragraphs.push(notes.to_owned());
    }
    Listing {
        title: title.trim().to_owned(),
        meta_description: format!("{} {kind} by {}. {notes}", crate::capitalise(m.metal), brand.brand_name),
        alt_text: format!("{} {kind} photographed on a plain background", crate::capitalise(m.metal)),
        bullets: vec![
            format!("Photo measures {} × {} px around the piece", m.width, m.height),
            format!("Metal colour in the photo: {}", m.metal),
        ],
        paragraphs,
        // The colour in a photo is not a material: that is for the seller's notes to say.
        attributes: domain::listing::Attributes { collection, ..Default::default() },
        tags: vec![kind.to_owned(), m.metal.to_owned()],
    }
}

impl App {
    /// The user's brand profile in force (a starting one from their profile if none saved).
    pub async fn brand_profile(&self, p: &Principal) -> Result<(Option<i64>, BrandProfile)> {
        self.brand_of(&p.user.id).await
    }

    pub(crate) async fn brand_of(&self, user_id: &str) -> Result<(Option<i64>, BrandProfile)> {
        if let Some((version, json, _)) = self.db.brand_profile(user_id).await? {
            let profile = serde_json::from_str(&json).map_err(|e| AppError::Internal(format!("brand profile: {e}")))?;
            return Ok((Some(version), profile));
        }
        let user = self.db.user_by_id(user_id).await?;
        let name = user.company.filter(|c| !c.is_empty()).unwrap_or(user.name);
        Ok((
            None,
            BrandProfile { brand_name: name, website: user.website.unwrap_or_default(), ..BrandProfile::default() },
        ))
    }

    /// The saved versions of the user's brand profile: (version, saved at), newest first.
    pub async fn brand_profile_versions(&self, p: &Principal) -> Result<Vec<(i64, i64)>> {
        Ok(self.db.brand_profile_versions(&p.user.id).await?)
    }

    /// Saves a new version of the brand profile.
    pub async fn save_brand_profile(&self, p: &Principal, profile: &BrandProfile) -> Result<i64> {
        profile.validate()?;
        let json = serde_json::to_string(profile).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(self.db.save_brand_profile(&p.user.id, &json, now_ms()).await?)
    }

    /// Accepts a batch: every photo held at the listing price and queued, all or nothing.
    pub async fn create_listing_batch(
        &self,
        p: &Principal,
        req: &BatchRequest,
        client: &Client,
    ) -> Result<ListingBatch> {
        let mut ids: Vec<&String> = Vec::new();
        for id in &req.upload_ids {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.is_empty() || ids.len() > MAX_LISTINGS {
            return Err(invalid("invalid_uploads", "upload_ids", format!("Choose 1 to {MAX_LISTINGS} photos.")));
        }
        let lib = prompts::library().map_err(|e| AppError::Internal(e.to_string()))?;
        for kind in std::iter::once(&req.jewellery).chain(req.jewellery_of.values()) {
            lib.jewellery(kind).map_err(|_| invalid("invalid_option", "jewellery", "Choose the jewellery type."))?;
        }
        if req.jewellery_of.keys().any(|u| !ids.contains(&u)) {
            return Err(invalid("invalid_uploads", "jewellery_of", "A type was given for a photo not chosen."));
        }
        if req.notes.chars().count() > 500 {
            return Err(invalid("notes_too_long", "notes", "Notes are limited to 500 characters."));
        }
        for id in &ids {
            self.db.upload_of(&p.user.id, id).await?;
        }
        let (version, _) = self.brand_of(&p.user.id).await?;
        let now = now_ms();
        let name = req.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| {
            let date = domain::time::civil(now).date();
            format!("{} listings, {date}", ids.len())
        });
        let batch = ListingBatch {
            id: db::new_id(),
            user_id: p.user.id.clone(),
            name: name.chars().take(80).collect(),
            brand_version: version,
            created_at: now,
        };
        let items: Vec<ListingRow> = ids
            .iter()
            .enumerate()
            .map(|(i, upload)| ListingRow {
                id: db::new_id(),
                user_id: p.user.id.clone(),
                batch_id: batch.id.clone(),
                upload_id: Some((*upload).clone()),
                ordinal: i64::try_from(i).unwrap_or(i64::MAX),
                jewellery: req.jewellery_of.get(*upload).unwrap_or(&req.jewellery).clone(),
                notes: req.notes.trim().to_owned(),
                ..ListingRow::default()
            })
            .collect();
        let price = self.settings.tokens.listing;
        match self.db.create_listing_batch(&batch, &items, price, now).await? {
            Outcome::Applied(balance) => {
                let spent = price.saturating_mul(i64::try_from(items.len()).unwrap_or(i64::MAX));
                self.after_spend(&p.user.id, balance.balance, spent, &format!("listings:{}", batch.id)).await;
            }
            Outcome::Duplicate => {}
            Outcome::Insufficient => {
                let balance = self.db.balance(&p.user.id).await?.balance;
                let needed = price.saturating_mul(i64::try_from(items.len()).unwrap_or(i64::MAX));
                return Err(AppError::InsufficientTokens { needed, balance });
            }
        }
        let detail = format!("{} listing{}", items.len(), if items.len() == 1 { "" } else { "s" });
        self.record_activity(&p.user.id, crate::activity::Activity::Created, &detail, Some(client)).await;
        Ok(batch)
    }

    pub async fn listing_batches(&self, p: &Principal) -> Result<Vec<ListingBatch>> {
        Ok(self.db.listing_batches_of(&p.user.id).await?)
    }

    pub async fn listing_batch(&self, p: &Principal, id: &str) -> Result<(ListingBatch, Vec<ListingView>)> {
        let batch = self.db.listing_batch_of(&p.user.id, id).await?;
        let rows = self.db.listings_of_batch(&p.user.id, id).await?;
        let lengths = self.brand_of(&p.user.id).await?.1.lengths;
        Ok((batch, rows.into_iter().map(|r| view(r, lengths)).collect()))
    }

    pub async fn listing(&self, p: &Principal, id: &str) -> Result<ListingView> {
        let lengths = self.brand_of(&p.user.id).await?.1.lengths;
        Ok(view(self.db.listing_of(&p.user.id, id).await?, lengths))
    }

    /// The seller's own edit. Their title is kept whatever its length (`title_note` says
    /// when it is outside the marketplaces' range); the other rules still apply (lengths
    /// of the rest, banned words, `[TBD]`).
    pub async fn edit_listing(&self, p: &Principal, id: &str, edited: Listing) -> Result<ListingView> {
        self.db.listing_of(&p.user.id, id).await?;
        let (_, brand) = self.brand_of(&p.user.id).await?;
        let problems = length_problems_besides_title(&edited, brand.lengths);
        if let Some(first) = problems.first() {
            return Err(invalid("invalid_listing", "listing", crate::capitalise(first)));
        }
        let fixed = edited.enforce_keeping_title(&brand);
        let json = serde_json::to_string(&fixed).map_err(|e| AppError::Internal(e.to_string()))?;
        self.db.edit_listing(&p.user.id, id, &json, now_ms()).await.map_err(|e| match e {
            db::DbError::Invalid(_) => AppError::Busy,
            other => other.into(),
        })?;
        self.listing(p, id).await
    }

    /// Writes a listing again (charged again).
    pub async fn regenerate_listing(&self, p: &Principal, id: &str) -> Result<ListingView> {
        self.db.listing_of(&p.user.id, id).await?;
        let price = self.settings.tokens.listing;
        match self.db.regenerate_listing(&p.user.id, id, price, now_ms()).await {
            Ok(Outcome::Insufficient) => {
                let balance = self.db.balance(&p.user.id).await?.balance;
                return Err(AppError::InsufficientTokens { needed: price, balance });
            }
            Ok(Outcome::Applied(balance)) => {
                let generation = self.db.listing_of(&p.user.id, id).await?.generation;
                self.after_spend(&p.user.id, balance.balance, price, &format!("listing:{id}:{generation}")).await;
            }
            Ok(Outcome::Duplicate) => {}
            Err(db::DbError::Invalid(_)) => return Err(AppError::Busy),
            Err(e) => return Err(e.into()),
        }
        self.listing(p, id).await
    }

    /// The batch as CSV: one row per listing, every cell safe from formula injection.
    pub async fn listings_csv(&self, p: &Principal, id: &str) -> Result<(String, Vec<u8>)> {
        let (batch, rows) = self.listing_batch(p, id).await?;
        let photos = self.photo_names(p, &rows).await?;
        let mut w = csv::Writer::from_writer(Vec::new());
        let io = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
        w.write_record(HEADER).map_err(io)?;
        for (r, photo) in rows.iter().zip(&photos) {
            w.write_record(cells(r, photo).iter().map(|c| safe_cell(c))).map_err(io)?;
        }
        let bytes = w.into_inner().map_err(|e| AppError::Internal(e.to_string()))?;
        Ok((format!("{}.csv", file_stem(&batch.name)), bytes))
    }

    /// The batch as an Excel workbook (every cell a text cell, never a formula).
    pub async fn listings_xlsx(&self, p: &Principal, id: &str) -> Result<(String, Vec<u8>)> {
        let (batch, rows) = self.listing_batch(p, id).await?;
        let photos = self.photo_names(p, &rows).await?;
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let xl = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
        for (c, h) in HEADER.iter().enumerate() {
            sheet.write_string(0, u16::try_from(c).unwrap_or(0), *h).map_err(xl)?;
        }
        for (r, (row, photo)) in rows.iter().zip(&photos).enumerate() {
            for (c, cell) in cells(row, photo).iter().enumerate() {
                let (r, c) = (u32::try_from(r + 1).unwrap_or(u32::MAX), u16::try_from(c).unwrap_or(0));
                // Written as a text cell, which a spreadsheet never evaluates.
                sheet.write_string(r, c, cell.as_str()).map_err(xl)?;
            }
        }
        let bytes = book.save_to_buffer().map_err(xl)?;
        Ok((format!("{}.xlsx", file_stem(&batch.name)), bytes))
    }

    /// Each listing's photo by the name the seller gave it (a spreadsheet is read by
    /// people, who know their files, not our ids); a photo since deleted says so.
    async fn photo_names(&self, p: &Principal, rows: &[ListingView]) -> Result<Vec<String>> {
        let mut names = Vec::with_capacity(rows.len());
        for r in rows {
            let name = match r.row.upload_id.as_deref() {
                Some(id) => match self.db.upload_of(&p.user.id, id).await {
                    Ok(u) => u.filename,
                    Err(db::DbError::NotFound) => "(photo deleted)".to_owned(),
                    Err(e) => return Err(e.into()),
                },
                None => "(photo deleted)".to_owned(),
            };
            names.push(name);
        }
        Ok(names)
    }

    /// The brand profile a batch was started with (the newest, if none was saved then).
    async fn brand_for(&self, l: &ListingRow) -> Result<BrandProfile> {
        let batch = self.db.listing_batch_of(&l.user_id, &l.batch_id).await?;
        if let Some(version) = batch.brand_version
            && let Some(json) = self.db.brand_profile_version(&l.user_id, version).await?
        {
            return serde_json::from_str(&json).map_err(|e| AppError::Internal(format!("brand profile: {e}")));
        }
        Ok(self.brand_of(&l.user_id).await?.1)
    }

    /// Writes one generation of a listing (the `listing` job, payload `id:generation`).
    async fn write_listing(&self, payload: &str) -> std::result::Result<(), JobError> {
        let retry = |what: &str, e: &dyn std::fmt::Display| JobError::Retry(format!("{what}: {e}"));
        let Some((id, generation)) = db::listings::parse_payload(payload) else {
            return Err(JobError::Permanent(format!("bad listing job {payload:?}")));
        };
        let l = match self.db.listing(id).await {
            Ok(l) => l,
            Err(db::DbError::NotFound) => return Ok(()),
            Err(e) => return Err(retry("loading listing", &e)),
        };
        // A late job of an earlier generation: the current one has its own job.
        if l.generation != generation || !matches!(l.status.as_str(), "queued" | "running") {
            return Ok(());
        }
        self.db.start_listing(id, now_ms()).await.map_err(|e| retry("starting", &e))?;
        let not_written =
            |why: &'static str| Written { content: None, source: None, provider: None, model: None, error: Some(why) };
        let owner = self.db.user_by_id(&l.user_id).await.map_err(|e| retry("loading its owner", &e))?;
        let finish = |w: Written<'static>| {
            let (db, l) = (self.db.clone(), l.clone());
            async move {
                db.finish_listing(&l, &w, now_ms())
                    .await
                    .map(|_| ())
                    .map_err(|e| JobError::Retry(format!("finishing: {e}")))
            }
        };
        let upload = match &l.upload_id {
            Some(u) => match self.db.upload_of(&l.user_id, u).await {
                Ok(u) => Some(u),
                Err(db::DbError::NotFound) => None,
                Err(e) => return Err(retry("loading upload", &e)),
            },
            None => None,
        };
        if owner.suspended_at.is_some() {
            let why = "This account is suspended, so this listing was not written. Its tokens were returned.";
            return finish(not_written(why)).await;
        }
        let Some(upload) = upload else { return finish(not_written("The photo was deleted.")).await };
        let key = self.data_key(&l.user_id).await.map_err(|e| retry("data key", &e))?;
        let photo = self.blobs.get(&key, &upload.original_key).await.map_err(|e| retry("reading photo", &e))?;
        let limits = self.upload_limits();
        let Ok(measured) = self.on_cpu(move || measure(&photo, &limits)).await.map_err(|e| retry("engine", &e))? else {
            return finish(not_written("No jewellery could be found in the photo.")).await;
        };
        let brand = self.brand_for(&l).await.map_err(|e| retry("brand", &e))?;
        let kind = prompts::library()
            .ok()
            .and_then(|lib| lib.jewellery(&l.jewellery).ok())
            .map_or(l.jewellery.clone(), |j| j.wording.clone());
        let local = || local_listing(&brand, &kind, &l.notes, &measured).enforce(&brand);
        let (mut listing, mut source, mut provider, mut model) = match self.cloud.clone() {
            Some(engine) => {
                let writer = engine.writer();
                let listing = self.ask_listing(&l, &brand, &kind, &measured).await?.enforce(&brand);
                (listing, "model", Some(writer.provider().to_owned()), Some(writer.model().to_owned()))
            }
            None => (local(), "local", None, None),
        };
        // What the model wrote may still break the rules after enforcing them (an empty
        // answer): the listing from the notes and measurements stands in.
        if !length_problems(&listing, brand.lengths).is_empty() {
            (listing, source, provider, model) = (local(), "local", None, None);
        }
        if !length_problems(&listing, brand.lengths).is_empty() {
            return finish(not_written("The listing could not be written within your length rules.")).await;
        }
        let content = serde_json::to_string(&listing).map_err(|e| JobError::Permanent(e.to_string()))?;
        let written = Written {
            content: Some(&content),
            source: Some(source),
            provider: provider.as_deref(),
            model: model.as_deref(),
            error: None,
        };
        self.db.finish_listing(&l, &written, now_ms()).await.map_err(|e| retry("finishing", &e))?;
        Ok(())
    }

    /// `listing.ready` once per generation written (a retried job announces nothing twice).
    async fn announce_listing(&self, payload: &str) -> Result<()> {
        let Some((id, generation)) = db::listings::parse_payload(payload) else { return Ok(()) };
        let l = match self.db.listing(id).await {
            Ok(l) if l.generation == generation && l.status == "ready" => l,
            Ok(_) | Err(db::DbError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let (user_id, key) = (l.user_id.clone(), format!("listing.ready:{id}:{generation}"));
        let lengths = self.brand_of(&user_id).await?.1.lengths;
        let data = serde_json::to_value(view(l, lengths)).map_err(|e| AppError::Internal(e.to_string()))?;
        self.announce(&user_id, domain::webhook::EventType::ListingReady, &key, data, None).await
    }

    /// Asks the model, then once more with the problems named when its answer breaks the
    /// schema or the length rules; the second answer is enforced in code whatever it says.
    async fn ask_listing(
        &self,
        l: &ListingRow,
        brand: &BrandProfile,
        kind: &str,
        m: &Measured,
    ) -> std::result::Result<Listing, JobError> {
        let Some(engine) = self.cloud.clone() else { return Err(JobError::Permanent("no model".into())) };
        let writer = engine.writer();
        let base = format!(
            "Write a product listing for an online jewellery shop from the photo.\nType: {kind}.\nMetal colour seen: {}.\n\
             Seller's notes: {}\n{}\nReturn JSON only.",
            m.metal,
            if l.notes.is_empty() { "none" } else { &l.notes },
            brand.instructions()
        );
        let image = Image { mime: "image/jpeg".into(), bytes: m.jpeg.clone() };
        let mut prompt = base.clone();
        let mut last: Option<Listing> = None;
        for attempt in 0..2 {
            let q = Question { prompt: prompt.clone(), images: vec![image.clone()], schema: schema() };
            let t = Instant::now();
            let answer = writer.ask(&q).await;
            let (outcome, usage) = match &answer {
                Ok(a) => ("ok", a.usage),
                Err(e) => (e.code(), providers::ai::Usage::default()),
            };
            let call = ProviderCall {
                user_id: Some(&l.user_id),
                provider: writer.provider(),
                model: writer.model(),
                purpose: "listing",
                outcome,
                latency_ms: i64::try_from(t.elapsed().as_millis()).unwrap_or(i64::MAX),
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                cost_micros: usage.cost_micros,
                ..ProviderCall::default()
            };
            if let Err(e) = self.db.record_provider_call(&call, now_ms()).await {
                tracing::warn!(error = %e, "could not record a provider call");
            }
            let answer = match answer {
                Ok(a) => a,
                Err(e) if attempt == 0 => return Err(JobError::Retry(format!("listing model: {e}"))),
                Err(_) => break,
            };
            match serde_json::from_value::<Listing>(answer.json.clone()) {
                Ok(listing) => {
                    let problems = length_problems(&listing, brand.lengths);
                    if problems.is_empty() {
                        return Ok(listing);
                    }
                    prompt = format!(
                        "{base}\n\nYour previous answer was:\n{}\nFix it: {}.",
                        answer.json,
                        problems.join("; ")
                    );
                    last = Some(listing);
                }
                Err(e) => {
                    prompt =
                        format!("{base}\n\nYour previous answer did not follow the schema ({e}). Follow it exactly.")
                }
            }
        }
        // Still off after the repair pass: the rules are enforced in code.
        last.ok_or_else(|| JobError::Retry("the model's listing did not follow the schema".into()))
    }
}

const HEADER: [&str; 14] = [
    "photo",
    "status",
    "title",
    "description_html",
    "meta_description",
    "alt_text",
    "material",
    "stone",
    "closure",
    "collection",
    "occasion",
    "tags",
    "edited",
    "shopify",
];

fn cells(v: &ListingView, photo: &str) -> Vec<String> {
    let l = v.listing.clone().unwrap_or_default();
    let a = &l.attributes;
    vec![
        photo.to_owned(),
        v.row.status.clone(),
        l.title.clone(),
        v.description_html.clone().unwrap_or_default(),
        l.meta_description.clone(),
        l.alt_text.clone(),
        a.material.clone(),
        a.stone.clone(),
        a.closure.clone(),
        a.collection.clone(),
        a.occasion.clone(),
        l.tags.join(", "),
        (v.row.edited != 0).to_string(),
        v.row.shopify_status.clone().unwrap_or_default(),
    ]
}

fn file_stem(name: &str) -> String {
    let s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    format!("soraipixel-{}", s.trim_matches('-').chars().take(60).collect::<String>())
}

/// The queue handler that writes listings.
pub struct WriteListings(pub App);

impl Handler for WriteListings {
    fn kind(&self) -> &'static str {
        LISTING_JOB
    }

    fn run(&self, job: Job, _ctx: JobContext) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move {
            app.write_listing(&job.payload).await?;
            app.announce_listing(&job.payload).await.map_err(|e| JobError::Retry(format!("announcing: {e}")))
        })
    }

    /// Out of attempts: the generation ends unwritten and its tokens come back.
    fn dead(&self, job: Job) -> HandlerFuture {
        let app = self.0.clone();
        Box::pin(async move {
            let Some((id, generation)) = db::listings::parse_payload(&job.payload) else { return Ok(()) };
            let l = match app.db.listing(id).await {
                Ok(l) if l.generation == generation => l,
                Ok(_) | Err(db::DbError::NotFound) => return Ok(()),
                Err(e) => return Err(JobError::Retry(e.to_string())),
            };
            let why = Some("We could not write this listing. Its tokens were returned.");
            let w = Written { content: None, source: None, provider: None, model: None, error: why };
            app.db.finish_listing(&l, &w, now_ms()).await.map(|_| ()).map_err(|e| JobError::Retry(e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_listing_follows_the_rules() {
        let photo = synth::generate(&synth::SceneSpec::gold_ring(640, 480, 3)).jpeg;
        let m = measure(&photo, &imaging::Limits::default()).unwrap();
        assert_eq!(m.metal, "gold");
        let brand = BrandProfile { brand_name: "Meera Jewels".into(), ..BrandProfile::default() };
        let l = local_listing(&brand, "ring", "Hallmarked 22k, size 7", &m).enforce(&brand);
        assert!(length_problems(&l, brand.lengths).is_empty(), "{l:?}");
        assert!(l.title.starts_with("Meera Jewels gold ring"), "{}", l.title);
        assert_eq!(l.attributes.stone, domain::listing::TBD);
        assert!(l.paragraphs.iter().any(|p| p.contains("size 7")));
    }
}
