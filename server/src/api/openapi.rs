//! The OpenAPI 3 document of the source API, generated from the handlers' annotations and
//! these body types, so it cannot drift from the code. The body types document the contract;
//! the handlers validate the raw JSON (`domain::share`) to report every problem at once, and a
//! test checks that every accepted body also fits these types.

use super::responses::{InputRefused, Problem, Refusal, TokenRefused};
use super::shares::{ConsentChanged, EntryChanges, ShareAccepted};
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Documentation enums: the closed sets of keys the string fields accept (the handler checks
/// them with the domain parsers; a test keeps both lists equal).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareConsentKey {
    Active,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatusKey {
    Active,
    Withdrawn,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PregnancyStatusKey {
    Active,
    Ended,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CategoryKey {
    Identity,
    CareTeam,
    ObstetricHistory,
    Pregnancy,
    LabScreening,
    Ultrasound,
    MedicalHistory,
    Psychosocial,
    Lifestyle,
    FamilySituation,
    LabourBirth,
    Newborn,
    Postpartum,
    Medication,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SensitivityKey {
    Normal,
    Elevated,
    High,
}

/// A source's whole share of one client; replaces what the source shared before.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ShareBody {
    /// Must be `active`; withdraw consent with the consent endpoint.
    #[schema(value_type = ShareConsentKey)]
    pub consent: String,
    pub client: ClientBody,
    pub pregnancies: Vec<PregnancyBody>,
    pub entries: Vec<EntryBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClientBody {
    #[schema(max_length = 200, example = "Sanne Verbeek")]
    pub name: String,
    /// `YYYY-MM-DD`, from 1900-01-01 to today.
    #[schema(format = Date, example = "1990-05-01")]
    pub birth_date: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PregnancyBody {
    #[schema(max_length = 64)]
    pub id: String,
    /// Expected due date (a terme datum), `YYYY-MM-DD`, from 1900-01-01 to one year from today.
    #[schema(format = Date)]
    pub edd: String,
    #[schema(minimum = 1, maximum = 30)]
    pub gravidity: i32,
    #[schema(minimum = 0, maximum = 29)]
    pub parity: i32,
    #[schema(value_type = PregnancyStatusKey)]
    pub status: String,
    /// Required when `ended`, null when `active`; from 1900-01-01 to today.
    #[schema(format = Date, nullable)]
    pub ended_on: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EntryBody {
    #[schema(max_length = 64)]
    pub id: String,
    /// The `id` of a pregnancy in this share, or null.
    #[schema(nullable)]
    pub pregnancy_id: Option<String>,
    /// One of the 14 category keys (DESIGN section 4).
    #[schema(value_type = CategoryKey)]
    pub category: String,
    #[schema(max_length = 64, example = "bloedgroep")]
    pub code: String,
    #[schema(max_length = 200, example = "Bloedgroep")]
    pub label: String,
    #[schema(max_length = 4000, example = "O")]
    pub value: String,
    #[schema(max_length = 32, nullable)]
    pub unit: Option<String>,
    /// RFC 3339 date-time, from 1900 to the end of tomorrow (UTC).
    #[schema(format = DateTime)]
    pub observed_at: String,
    #[schema(value_type = SensitivityKey)]
    pub sensitivity: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentChoiceKey {
    All,
    Selected,
    None,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKindKey {
    Verloskundigenpraktijk,
    Ziekenhuis,
    Kraamzorg,
    Echocentrum,
}

/// A consent registry's profile of the client (DESIGN 8.3). With `selected`, at least one
/// organisation or kind; with `all` and `none`, neither list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    #[schema(value_type = ConsentChoiceKey)]
    pub choice: String,
    /// Network organisation ids (a production adapter maps URA numbers to them).
    #[serde(default)]
    #[schema(max_items = 500)]
    pub organisations: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<OrganisationKindKey>>, max_items = 500)]
    pub organisation_kinds: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConsentBody {
    #[schema(value_type = ConsentStatusKey)]
    pub status: String,
}

/// Documentation of the FHIR Bundle's shape as far as the intake reads it (DESIGN 8.2); the
/// handler reads the raw JSON and tolerates every element it does not read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FhirBundleBody {
    #[schema(value_type = FhirBundleResourceType)]
    pub resource_type: String,
    #[serde(rename = "type")]
    #[schema(value_type = FhirBundleType)]
    pub kind: String,
    pub entry: Vec<FhirBundleEntry>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub enum FhirBundleResourceType {
    Bundle,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FhirBundleType {
    Transaction,
    Collection,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FhirBundleEntry {
    /// `urn:uuid:...`; references inside the bundle may use it.
    #[schema(nullable)]
    pub full_url: Option<String>,
    /// A FHIR resource: `resourceType`, `id` and its elements.
    #[schema(value_type = Object)]
    pub resource: serde_json::Value,
}

struct SourceTokenScheme;

impl Modify for SourceTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT (ES256 or RS256) signed by the source".into());
        components.add_security_scheme("source_token", SecurityScheme::Http(http));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Ooievaar source API", version = "1", description = "How source systems share client data with the Ooievaar viewer and change consent (DESIGN section 8)."),
    paths(super::shares::put_share, super::shares::put_consent, super::fhir::post_bundle, super::fhir::metadata, super::consent_profiles::put_profile),
    components(schemas(
        ShareBody, ClientBody, PregnancyBody, EntryBody, ConsentBody, ShareAccepted, EntryChanges,
        ProfileBody, ConsentChoiceKey, OrganisationKindKey, super::consent_profiles::ProfileStored,
        ShareConsentKey, ConsentStatusKey, PregnancyStatusKey, CategoryKey, SensitivityKey,
        ConsentChanged, InputRefused, Problem, TokenRefused, Refusal,
        FhirBundleBody, FhirBundleResourceType, FhirBundleType, FhirBundleEntry,
        super::fhir::OperationOutcome, super::fhir::OutcomeIssue, super::fhir::TransactionResponse
    )),
    modifiers(&SourceTokenScheme)
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`
pub async fn document() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}
