//! The demo network (`ooievaar demo seed`, run by `make run` on a new database): three
//! fictitious organisations, one user per role, and twelve fictitious clients with
//! pregnancies and entries in every category and every sensitivity, shared through the share
//! service of the source API (`backend::sharing`).
//!
//! BSNs are from 999990000-999999999, the range the Dutch government reserves for testing;
//! names and values are invented.

pub mod audit_load;
pub mod fhir;

use backend::accounts;
use backend::audit::{NewAuditEvent, RequestMeta};
use backend::sharing::{self, Caller, SharingError};
use backend::store::Store;
use domain::error::AppError;
use domain::retention::RetentionTerm;
use domain::share::{ValidEntry, ValidPregnancy, ValidShare};
use domain::{AuditAction, Bsn, Category, Outcome, Sensitivity, SourceId};
use secrecy::SecretString;
use time::{Date, Duration, OffsetDateTime};

/// The password of every demo account (documented in the README; demo only).
pub const DEMO_PASSWORD: &str = "ooievaar-demo-2026";

/// An organisation of the demo network with its one source system. The load generator
/// (`audit_load`) plays that system's interface too, hence its user agent and address.
pub struct DemoOrganisation {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub source: &'static str,
    /// The user agent of the source system's interface.
    pub source_agent: &'static str,
    /// The address it calls from (TEST-NET-1, RFC 5737).
    pub source_ip: &'static str,
}

/// The demo network's organisations and sources: the one table `seed` and `audit_load` share.
pub const ORGANISATIONS: [DemoOrganisation; 3] = [
    DemoOrganisation {
        id: "vp-de-wieg",
        name: "Verloskundigenpraktijk De Wieg",
        kind: "verloskundigenpraktijk",
        source: "de-wieg-epd",
        source_agent: "DeWieg-EPD-koppeling/4.2",
        source_ip: "192.0.2.10",
    },
    DemoOrganisation {
        id: "zh-rivierenland",
        name: "Ziekenhuis Rivierenland, Verloskunde",
        kind: "ziekenhuis",
        source: "rivierenland-epd",
        source_agent: "HiX-Ooievaar-adapter/6.3",
        source_ip: "192.0.2.20",
    },
    DemoOrganisation {
        id: "kz-kraamhoek",
        name: "Kraamzorg De Kraamhoek",
        kind: "kraamzorg",
        source: "kraamhoek-app",
        source_agent: "Kraamhoek-app-server/2.7",
        source_ip: "192.0.2.30",
    },
];

/// The demo source that shares in FHIR (the kraamzorg app); the others use the JSON API.
pub const FHIR_SOURCE: &str = "kraamhoek-app";

/// (username, display name, role, organisation)
pub const USERS: [(&str, &str, &str, &str); 7] = [
    (
        "verloskundige",
        "Anna de Vries",
        "verloskundige",
        "vp-de-wieg",
    ),
    (
        "gynaecoloog",
        "Dr. Bram Jansen",
        "gynaecoloog",
        "zh-rivierenland",
    ),
    (
        "ogverpleegkundige",
        "Carla Bakker",
        "og_verpleegkundige",
        "zh-rivierenland",
    ),
    (
        "kraamverzorgende",
        "Dewi Visser",
        "kraamverzorgende",
        "kz-kraamhoek",
    ),
    (
        "echoscopist",
        "Esther Smit",
        "echoscopist",
        "zh-rivierenland",
    ),
    (
        "privacy",
        "Femke Mulder",
        "privacy_officer",
        "zh-rivierenland",
    ),
    ("beheer", "Gerrit Bos", "beheerder", "vp-de-wieg"),
];

const CLIENT_NAMES: [&str; 12] = [
    "Sanne Verbeek",
    "Fatima el Amrani",
    "Lotte de Groot",
    "Joyce Kramer",
    "Noor Hendriks",
    "Mirjam van Dijk",
    "Priya Ramdin",
    "Eva Willems",
    "Kim Peters",
    "Aylin Yilmaz",
    "Marloes Vermeulen",
    "Ingrid Schouten",
];

/// One demo entry: (category, code, label, value, unit, sensitivity, index of the sharing
/// organisation in `ORGANISATIONS`).
type DemoEntry = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    usize,
);

const ENTRIES: &[DemoEntry] = &[
    (
        "identity",
        "voorkeurstaal",
        "Voorkeurstaal",
        "Nederlands",
        None,
        "normal",
        0,
    ),
    (
        "identity",
        "contactpersoon",
        "Contactpersoon",
        "Partner, bereikbaar via praktijk",
        None,
        "elevated",
        0,
    ),
    (
        "identity",
        "geheim_adres",
        "Geheim adres",
        "Ja, adres niet delen met derden",
        None,
        "high",
        0,
    ),
    (
        "care_team",
        "eerste_verloskundige",
        "Eerste verloskundige",
        "A. de Vries",
        None,
        "normal",
        0,
    ),
    (
        "care_team",
        "huisarts",
        "Huisarts",
        "Huisartsenpraktijk Centrum",
        None,
        "normal",
        0,
    ),
    (
        "care_team",
        "maatschappelijk_werk",
        "Maatschappelijk werk",
        "Betrokken sinds 20 weken",
        None,
        "elevated",
        0,
    ),
    (
        "care_team",
        "jeugdbescherming",
        "Jeugdbescherming",
        "Casusregie actief",
        None,
        "high",
        0,
    ),
    (
        "obstetric_history",
        "vorige_baring",
        "Vorige baring",
        "Spontaan, 39+2 weken",
        None,
        "normal",
        0,
    ),
    (
        "obstetric_history",
        "fluxus",
        "Fluxus postpartum bij vorige baring",
        "1200",
        Some("ml"),
        "elevated",
        0,
    ),
    (
        "obstetric_history",
        "zwangerschapsafbreking",
        "Eerdere zwangerschapsafbreking",
        "1 keer",
        None,
        "high",
        0,
    ),
    (
        "pregnancy",
        "bloeddruk",
        "Bloeddruk",
        "118/76",
        Some("mmHg"),
        "normal",
        0,
    ),
    (
        "pregnancy",
        "gewicht",
        "Gewicht",
        "71",
        Some("kg"),
        "normal",
        0,
    ),
    (
        "pregnancy",
        "ongeplande_zwangerschap",
        "Zwangerschap gepland",
        "Nee, wel gewenst",
        None,
        "elevated",
        0,
    ),
    (
        "pregnancy",
        "draagmoederschap",
        "Draagmoederschap",
        "Nee",
        None,
        "high",
        0,
    ),
    (
        "lab_screening",
        "bloedgroep",
        "Bloedgroep",
        "O",
        None,
        "normal",
        1,
    ),
    (
        "lab_screening",
        "rhesus",
        "Rhesus D",
        "positief",
        None,
        "normal",
        1,
    ),
    (
        "lab_screening",
        "hb",
        "Hemoglobine",
        "7.4",
        Some("mmol/l"),
        "normal",
        1,
    ),
    (
        "lab_screening",
        "hiv",
        "HIV-screening",
        "negatief",
        None,
        "elevated",
        1,
    ),
    (
        "lab_screening",
        "hepatitis_b",
        "Hepatitis B (HBsAg)",
        "negatief",
        None,
        "elevated",
        1,
    ),
    (
        "lab_screening",
        "nipt",
        "NIPT",
        "laag risico",
        None,
        "high",
        1,
    ),
    (
        "ultrasound",
        "termijnecho",
        "Termijnecho",
        "CRL passend bij 12+3 weken",
        None,
        "normal",
        1,
    ),
    (
        "ultrasound",
        "ligging",
        "Ligging",
        "Hoofdligging",
        None,
        "normal",
        1,
    ),
    (
        "ultrasound",
        "sea",
        "Structureel echoscopisch onderzoek (20 weken)",
        "Geen afwijkingen gezien",
        None,
        "elevated",
        1,
    ),
    (
        "ultrasound",
        "geavanceerd_echo",
        "Geavanceerd ultrageluidonderzoek",
        "Verwezen naar UMC, uitslag volgt",
        None,
        "high",
        1,
    ),
    (
        "medical_history",
        "allergie",
        "Allergie",
        "Penicilline (huiduitslag)",
        None,
        "normal",
        1,
    ),
    (
        "medical_history",
        "astma",
        "Astma",
        "Ja, goed ingesteld",
        None,
        "normal",
        1,
    ),
    (
        "medical_history",
        "sectio",
        "Eerdere keizersnede",
        "Nee",
        None,
        "elevated",
        1,
    ),
    (
        "medical_history",
        "depressie",
        "Depressie in de voorgeschiedenis",
        "2019, behandeld",
        None,
        "high",
        1,
    ),
    (
        "psychosocial",
        "steun",
        "Steun van partner",
        "Goed",
        None,
        "normal",
        0,
    ),
    (
        "psychosocial",
        "angst",
        "Angst voor de bevalling",
        "Matig, besproken",
        None,
        "elevated",
        0,
    ),
    (
        "psychosocial",
        "huiselijk_geweld",
        "Signaal huiselijk geweld",
        "Besproken, veiligheidsplan",
        None,
        "high",
        0,
    ),
    ("lifestyle", "roken", "Roken", "Nee", None, "normal", 0),
    (
        "lifestyle",
        "alcohol",
        "Alcohol",
        "Gestopt bij positieve test",
        None,
        "elevated",
        0,
    ),
    (
        "lifestyle",
        "drugs",
        "Drugsgebruik",
        "Cannabis, gestopt",
        None,
        "high",
        0,
    ),
    (
        "family_situation",
        "gezin",
        "Gezinssamenstelling",
        "Partner en 1 kind (3 jaar)",
        None,
        "normal",
        2,
    ),
    (
        "family_situation",
        "woning",
        "Woonsituatie",
        "Appartement 2e verdieping, geen lift",
        None,
        "normal",
        2,
    ),
    (
        "family_situation",
        "financien",
        "Financiële zorgen",
        "Schuldhulpverlening gestart",
        None,
        "elevated",
        2,
    ),
    (
        "family_situation",
        "veilig_thuis",
        "Melding Veilig Thuis",
        "Ja, in behandeling",
        None,
        "high",
        2,
    ),
    (
        "labour_birth",
        "baringsduur",
        "Duur ontsluiting en uitdrijving",
        "7 uur 40 min",
        None,
        "normal",
        1,
    ),
    (
        "labour_birth",
        "bloedverlies",
        "Bloedverlies",
        "450",
        Some("ml"),
        "normal",
        1,
    ),
    (
        "labour_birth",
        "ruptuur",
        "Perineumruptuur",
        "Graad 2, gehecht",
        None,
        "elevated",
        1,
    ),
    (
        "labour_birth",
        "kunstverlossing",
        "Kunstverlossing",
        "Vacuümextractie",
        None,
        "high",
        1,
    ),
    (
        "newborn",
        "geboortegewicht",
        "Geboortegewicht",
        "3450",
        Some("g"),
        "normal",
        2,
    ),
    (
        "newborn",
        "apgar5",
        "Apgar na 5 minuten",
        "9",
        None,
        "normal",
        2,
    ),
    (
        "newborn",
        "voeding",
        "Voeding",
        "Borstvoeding",
        None,
        "normal",
        2,
    ),
    (
        "newborn",
        "neonatologie",
        "Opname neonatologie",
        "2 dagen, observatie",
        None,
        "elevated",
        2,
    ),
    (
        "newborn",
        "erfelijk",
        "Erfelijke aandoening in familie",
        "Cystic fibrosis (drager)",
        None,
        "high",
        2,
    ),
    (
        "postpartum",
        "temperatuur",
        "Temperatuur moeder",
        "37.1",
        Some("°C"),
        "normal",
        2,
    ),
    (
        "postpartum",
        "fundus",
        "Fundushoogte",
        "2 vingers onder de navel",
        None,
        "normal",
        2,
    ),
    (
        "postpartum",
        "stemming",
        "Stemming",
        "Emotioneel, huilerig (dag 3)",
        None,
        "elevated",
        2,
    ),
    (
        "postpartum",
        "epds",
        "Edinburgh-depressieschaal",
        "14",
        Some("punten"),
        "high",
        2,
    ),
    (
        "medication",
        "ijzer",
        "Ferrofumaraat",
        "200 mg 1x per dag",
        None,
        "normal",
        0,
    ),
    (
        "medication",
        "foliumzuur",
        "Foliumzuur",
        "0,4 mg 1x per dag",
        None,
        "normal",
        0,
    ),
    (
        "medication",
        "anti_d",
        "Anti-D immunoglobuline",
        "Toegediend 30 weken",
        None,
        "elevated",
        1,
    ),
    (
        "medication",
        "sertraline",
        "Sertraline",
        "50 mg 1x per dag",
        None,
        "high",
        1,
    ),
    // What the handover summary ("Overdracht") asks for beyond the rows above.
    (
        "pregnancy",
        "risicostatus",
        "Risicostatus",
        "Tweede lijn (fluxus bij vorige baring)",
        None,
        "normal",
        1,
    ),
    (
        "lab_screening",
        "irregulaire_antistoffen",
        "Irregulaire antistoffen",
        "Niet aangetoond",
        None,
        "normal",
        0,
    ),
    (
        "lab_screening",
        "gbs",
        "GBS-kweek",
        "Negatief",
        None,
        "normal",
        0,
    ),
    (
        "pregnancy",
        "bevalplaats",
        "Geboorteplan: plaats",
        "Poliklinisch",
        None,
        "normal",
        0,
    ),
    (
        "pregnancy",
        "voedingswens",
        "Geboorteplan: voeding",
        "Borstvoeding",
        None,
        "normal",
        0,
    ),
    (
        "labour_birth",
        "type_partus",
        "Type bevalling",
        "Vaginale baring",
        None,
        "normal",
        0,
    ),
    (
        "newborn",
        "gewicht_kind",
        "Gewicht kind",
        "3310",
        Some("g"),
        "normal",
        2,
    ),
    (
        "postpartum",
        "kraamzorg_indicatie",
        "Indicatie kraamzorg",
        "49 uur",
        None,
        "normal",
        2,
    ),
];

/// Measurement series over the pregnancy (the trend charts): (category, code, label, unit,
/// index of the sharing organisation, (weeks ago, value)...). All `normal`.
type DemoSeries = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    usize,
    &'static [(i64, &'static str)],
);

const SERIES: &[DemoSeries] = &[
    (
        "pregnancy",
        "bloeddruk",
        "Bloeddruk",
        "mmHg",
        0,
        &[(20, "112/70"), (14, "116/72"), (8, "121/78"), (4, "124/80")],
    ),
    (
        "lab_screening",
        "hb",
        "Hemoglobine",
        "mmol/l",
        1,
        &[(24, "7.9"), (16, "7.1"), (6, "7.3")],
    ),
    (
        "pregnancy",
        "gewicht",
        "Gewicht",
        "kg",
        0,
        &[(20, "64"), (14, "66.5"), (8, "68.9"), (4, "70.2")],
    ),
    (
        "ultrasound",
        "geschat_foetaal_gewicht",
        "Geschat foetaal gewicht",
        "g",
        1,
        &[(12, "980"), (8, "1650"), (3, "2400")],
    ),
];

/// The twelve demo BSNs: consecutive numbers from 999990000 that pass the 11-check.
pub fn demo_bsns() -> Vec<Bsn> {
    (999_990_000u32..999_999_999)
        .filter_map(|n| Bsn::parse(&n.to_string()).ok())
        .take(CLIENT_NAMES.len())
        .collect()
}

/// The demo clients: BSN, name and birth date (what a professional searches with).
pub fn demo_clients() -> Vec<(Bsn, &'static str, Date)> {
    demo_bsns()
        .into_iter()
        .zip(CLIENT_NAMES)
        .enumerate()
        .map(|(i, (bsn, name))| {
            let month = time::Month::try_from(1 + (i as u8 % 12)).expect("month");
            let birth = Date::from_calendar_date(1988 + (i as i32 % 10), month, 3 + i as u8)
                .expect("valid demo birth date");
            (bsn, name, birth)
        })
        .collect()
}

/// Which sources (indexes in [`ORGANISATIONS`]) share the `i`-th demo client: one, two or all
/// three.
pub fn client_sources(i: usize) -> &'static [usize] {
    match i % 3 {
        0 => &[0, 1, 2],
        1 => &[0, 2],
        _ => &[0, 1],
    }
}

/// When a demo entry was observed: birth, newborn and kraambed data on or after the birth,
/// everything else in the last three months.
fn observed_on(current: &ValidPregnancy, category: &str, n: usize, i: usize, today: Date) -> Date {
    match (current.ended_on, category) {
        (Some(born), "labour_birth" | "newborn" | "postpartum") => {
            (born + Duration::days((n % 3) as i64)).min(today)
        }
        _ => today - Duration::days((n as i64 * 3 + i as i64) % 90),
    }
}

/// The series measurements one source shares of the `i`-th client: during the pregnancy (a
/// client who gave birth had hers before it).
fn series_entries(
    source_id: &str,
    source_index: usize,
    i: usize,
    current: &ValidPregnancy,
    today: Date,
) -> Vec<ValidEntry> {
    let last_day = current.ended_on.unwrap_or(today);
    SERIES
        .iter()
        .enumerate()
        .filter(|(_, s)| s.4 == source_index)
        .flat_map(|(k, (category, code, label, unit, _, points))| {
            points
                .iter()
                .enumerate()
                .map(move |(j, (weeks, value))| ValidEntry {
                    id: format!("{source_id}-{i}-t{k}-{j}"),
                    pregnancy_id: Some(current.id.clone()),
                    category: Category::parse(category).expect("demo category"),
                    code: (*code).into(),
                    label: (*label).into(),
                    value: (*value).into(),
                    unit: Some((*unit).into()),
                    observed_at: (last_day
                        - Duration::weeks(*weeks)
                        - Duration::days(i as i64 % 3))
                    .with_hms(9, 30, 0)
                    .expect("time")
                    .assume_utc(),
                    sensitivity: Sensitivity::Normal,
                })
        })
        .collect()
}

/// The fixed authenticator-app secret of a demo account, so a newcomer (and the browser
/// tests) can make her codes (`ooievaar demo code <username>`): 20 bytes derived from the
/// username. Only the demo network has such secrets; real accounts enrol with random ones.
pub fn demo_totp_secret(username: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(format!("ooievaar demo authenticator {username}").as_bytes())[..20].to_vec()
}

/// Sets up every demo account's authenticator app with its fixed secret (those that have one
/// already are left alone).
pub async fn enrol_second_factors(
    store: &Store,
    key: &backend::second_factor::SecretKey,
) -> Result<(), AppError> {
    for (username, ..) in USERS {
        backend::second_factor::enrol_fixed(store, key, username, &demo_totp_secret(username))
            .await?;
    }
    Ok(())
}

/// What `demo seed` reports.
#[derive(Debug, Clone)]
pub struct SeedSummary {
    pub already_seeded: bool,
    pub clients: usize,
    pub entries: usize,
}

/// Seeds the demo network once; a second call changes nothing.
pub async fn seed(store: &Store) -> Result<SeedSummary, AppError> {
    if store.is_demo().await? {
        return Ok(SeedSummary {
            already_seeded: true,
            clients: 0,
            entries: 0,
        });
    }
    for org in &ORGANISATIONS {
        accounts::add_organisation(store, org.id, org.name, org.kind).await?;
        let mut event = NewAuditEvent::new(AuditAction::SourceAdded, Outcome::Success);
        event.organisation_id = Some(org.id.into());
        event.source_id = Some(org.source.into());
        event.request.user_agent = Some("ooievaar-cli demo seed".into());
        store
            .add_source(&SourceId::from(org.source), org.id, event)
            .await?;
    }
    for (username, name, role, organisation) in USERS {
        accounts::add_user(
            store,
            organisation,
            role,
            username,
            name,
            SecretString::from(DEMO_PASSWORD),
        )
        .await?;
    }

    let today = OffsetDateTime::now_utc().date();
    let mut total_entries = 0;
    for (i, (bsn, name, birth_date)) in demo_clients().into_iter().enumerate() {
        // Half the clients are pregnant now (due in 2-20 weeks), half gave birth in the last days
        // (the maternity nurse's clients); every client had one earlier pregnancy.
        let pregnant = i % 2 == 0;
        let current = if pregnant {
            ValidPregnancy {
                id: format!("z{i}-2"),
                edd: today + Duration::weeks(2 + 3 * i as i64 / 2),
                gravidity: 2,
                parity: 1,
                ended_on: None,
            }
        } else {
            let born = today - Duration::days(1 + i as i64);
            ValidPregnancy {
                id: format!("z{i}-2"),
                edd: born + Duration::days(3),
                gravidity: 2,
                parity: 2,
                ended_on: Some(born),
            }
        };
        let earlier_end = today - Duration::weeks(150 + i as i64 * 4);
        let earlier = ValidPregnancy {
            id: format!("z{i}-1"),
            edd: earlier_end + Duration::days(5),
            gravidity: 1,
            parity: 0,
            ended_on: Some(earlier_end),
        };
        for &source_index in client_sources(i) {
            let DemoOrganisation {
                id: organisation_id,
                source: source_id,
                ..
            } = ORGANISATIONS[source_index];
            let entries: Vec<ValidEntry> = ENTRIES
                .iter()
                .enumerate()
                .filter(|(_, e)| e.6 == source_index)
                // Labour, newborn and kraambed data exist only once the baby is born.
                .filter(|(_, e)| {
                    !pregnant || !matches!(e.0, "labour_birth" | "newborn" | "postpartum")
                })
                .map(
                    |(n, (category, code, label, value, unit, sensitivity, _))| ValidEntry {
                        id: format!("{source_id}-{i}-{n}"),
                        pregnancy_id: Some(current.id.clone()),
                        category: Category::parse(category).expect("demo category"),
                        code: (*code).into(),
                        label: (*label).into(),
                        value: (*value).into(),
                        unit: unit.map(Into::into),
                        observed_at: observed_on(&current, category, n, i, today)
                            .with_hms(10, 0, 0)
                            .expect("time")
                            .assume_utc(),
                        sensitivity: Sensitivity::parse(sensitivity).expect("demo sensitivity"),
                    },
                )
                .chain(series_entries(source_id, source_index, i, &current, today))
                .collect();
            total_entries += entries.len();
            let share = ValidShare {
                bsn: bsn.clone(),
                name: (*name).into(),
                birth_date,
                pregnancies: vec![earlier.clone(), current.clone()],
                entries,
            };
            let caller = Caller {
                source_id: source_id.into(),
                organisation_id: Some(organisation_id.into()),
                request: RequestMeta {
                    user_agent: Some("ooievaar-cli demo seed".into()),
                    ..RequestMeta::default()
                },
            };
            let shared = if source_id == FHIR_SOURCE {
                // The kraamzorg app speaks FHIR: the same share, as a bundle, through the intake.
                fhir::map_app_codes(store, &share.entries).await?;
                let bundle = fhir::bundle(
                    &share.bsn,
                    &share.name,
                    share.birth_date,
                    &share.pregnancies,
                    &share.entries,
                );
                let intake =
                    backend::fhir::read(&bundle, store.code_map().await?, backend::clock::today())
                        .map_err(|issues| AppError::field("demo", format!("{issues:?}")))?;
                sharing::receive_bundle(store, &caller, &intake, RetentionTerm::default())
                    .await
                    .map(|_| ())
            } else {
                sharing::receive_share(store, &caller, &share, RetentionTerm::default())
                    .await
                    .map(|_| ())
            };
            shared.map_err(|e| match e {
                SharingError::Store(e) => AppError::from(e),
                _ => AppError::Internal,
            })?;
        }
    }
    store.mark_demo().await?;
    Ok(SeedSummary {
        already_seeded: false,
        clients: CLIENT_NAMES.len(),
        entries: total_entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Category, Sensitivity};

    #[test]
    fn demo_bsns_are_valid_distinct_and_in_the_test_range() {
        let bsns = demo_bsns();
        assert_eq!(bsns.len(), 12);
        for bsn in &bsns {
            assert!(bsn.as_ref().starts_with("99999"));
        }
        let mut unique: Vec<_> = bsns.iter().map(|b| b.as_ref().to_owned()).collect();
        unique.dedup();
        assert_eq!(unique.len(), 12);
    }

    #[test]
    fn the_demo_covers_every_category_and_every_sensitivity() {
        for category in Category::ALL {
            for sensitivity in Sensitivity::ALL {
                let present = ENTRIES
                    .iter()
                    .any(|e| e.0 == category.as_str() && e.5 == sensitivity.as_str());
                // Every (category, sensitivity) pair exists somewhere in the demo data set.
                assert!(present, "{category} / {sensitivity} missing");
            }
        }
    }
}
