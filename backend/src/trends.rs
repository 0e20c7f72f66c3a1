//! Measurement series as small charts (issue 14): blood pressure, Hb, the mother's weight and
//! the estimated foetal weight, drawn on the server as inline SVG (no chart library in the
//! browser). A series is made only from the entries the view already read, which are the
//! entries the role may see (rule 3): a role that may not see a measurement gets no chart of it.
//! The SVG holds only numbers and fixed words, never text a source sent.

use domain::client_view::{TrendPoint, TrendView};
use domain::format;
use std::fmt::Write as _;

/// A series: which entry codes feed it (the sources' own and the code map's), and how it reads.
struct Series {
    key: &'static str,
    title: &'static str,
    unit: &'static str,
    codes: &'static [&'static str],
    /// The value is `systolic/diastolic`.
    pair: bool,
}

const SERIES: &[Series] = &[
    Series {
        key: "bloeddruk",
        title: "Bloeddruk",
        unit: "mmHg",
        codes: &["bloeddruk", "85354-9"],
        pair: true,
    },
    Series {
        key: "hb",
        title: "Hb",
        unit: "mmol/l",
        codes: &["hb", "718-7"],
        pair: false,
    },
    Series {
        key: "gewicht",
        title: "Gewicht moeder",
        unit: "kg",
        codes: &["gewicht", "29463-7"],
        pair: false,
    },
    Series {
        key: "foetaal_gewicht",
        title: "Geschat foetaal gewicht",
        unit: "g",
        codes: &["geschat_foetaal_gewicht", "11727-5"],
        pair: false,
    },
];

/// One measurement as the view read it.
pub struct Measurement<'a> {
    pub code: &'a str,
    pub value: &'a str,
    pub unit: Option<&'a str>,
    pub observed_at: i64,
    pub date: String,
    pub organisation: &'a str,
}

/// The charts of the series with at least two readable measurements, in a fixed order.
pub fn trends(measurements: &[Measurement<'_>]) -> Vec<TrendView> {
    SERIES
        .iter()
        .filter_map(|series| {
            let mut points: Vec<(&Measurement, Vec<f64>)> = measurements
                .iter()
                .filter(|m| series.codes.contains(&m.code))
                .filter_map(|m| read(series, m.value).map(|v| (m, v)))
                .collect();
            if points.len() < 2 {
                return None;
            }
            points.sort_by_key(|(m, _)| m.observed_at);
            let unit = points
                .last()
                .and_then(|(m, _)| m.unit)
                .unwrap_or(series.unit)
                .to_owned();
            Some(TrendView {
                key: series.key.to_owned(),
                title: series.title.to_owned(),
                svg: svg(series, &unit, &points),
                points: points
                    .iter()
                    .map(|(m, v)| TrendPoint {
                        date: m.date.clone(),
                        value: shown(v),
                        organisation: m.organisation.to_owned(),
                    })
                    .collect(),
                unit,
            })
        })
        .collect()
}

/// The numbers of a value: one, or two for blood pressure (`118/76`).
fn read(series: &Series, value: &str) -> Option<Vec<f64>> {
    if series.pair {
        let (high, low) = value.split_once('/')?;
        Some(vec![format::number(high)?, format::number(low)?])
    } else {
        Some(vec![format::number(value)?])
    }
}

fn shown(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format::decimal(*v, 2))
        .collect::<Vec<_>>()
        .join("/")
}

const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 140.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

fn svg(series: &Series, unit: &str, points: &[(&Measurement, Vec<f64>)]) -> String {
    let (first, last) = (points[0].0, points[points.len() - 1].0);
    let values = points.iter().flat_map(|(_, v)| v.iter().copied());
    let (mut low, mut high) = values.fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    if (high - low).abs() < f64::EPSILON {
        (low, high) = (low - 1.0, high + 1.0);
    }
    let margin = (high - low) * 0.1;
    let (low, high) = (low - margin, high + margin);
    let span = (last.observed_at - first.observed_at).max(1) as f64;
    let x = |t: i64| LEFT + (t - first.observed_at) as f64 / span * (WIDTH - LEFT - RIGHT);
    let y = |v: f64| TOP + (high - v) / (high - low) * (HEIGHT - TOP - BOTTOM);
    let description = format!(
        "{}: {} metingen van {} tot {}, laatste {} {}",
        series.title,
        points.len(),
        first.date,
        last.date,
        shown(&points[points.len() - 1].1),
        unit_text(unit),
    );
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="trend-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{description}" xmlns="http://www.w3.org/2000/svg">"#,
    );
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" y1="{}" x2="{}" y2="{}"/>"#,
        HEIGHT - BOTTOM,
        WIDTH - RIGHT,
        HEIGHT - BOTTOM
    );
    for v in [low + margin, high - margin] {
        let _ = write!(
            out,
            r#"<text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y(v) + 4.0,
            format::decimal(v, 1)
        );
    }
    for (anchor, m) in [("start", first), ("end", last)] {
        let at = if anchor == "start" {
            LEFT
        } else {
            WIDTH - RIGHT
        };
        let _ = write!(
            out,
            r#"<text class="tick" x="{at}" y="{}" text-anchor="{anchor}">{}</text>"#,
            HEIGHT - 8.0,
            m.date
        );
    }
    let lines = points[0].1.len();
    for line in 0..lines {
        let path: Vec<String> = points
            .iter()
            .map(|(m, v)| format!("{:.1},{:.1}", x(m.observed_at), y(v[line])))
            .collect();
        let _ = write!(
            out,
            r#"<polyline class="series series-{line}" fill="none" points="{}"/>"#,
            path.join(" ")
        );
        for point in &path {
            let (cx, cy) = point.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                out,
                r#"<circle class="series-{line}" cx="{cx}" cy="{cy}" r="3"/>"#
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A unit in the chart's description: only the fixed units, nothing a source could inject.
fn unit_text(unit: &str) -> &str {
    if unit
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '/' | '%' | ' ' | '°'))
    {
        unit
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m<'a>(code: &'a str, value: &'a str, day: i64) -> Measurement<'a> {
        Measurement {
            code,
            value,
            unit: None,
            observed_at: day * 86_400_000,
            date: format!("{:02}-01-2026", day),
            organisation: "Praktijk",
        }
    }

    #[test]
    fn a_series_needs_two_readable_values_and_is_drawn_oldest_first() {
        let data = [
            m("hb", "7.4", 3),
            m("hb", "6,9", 1),
            m("hb", "onleesbaar", 2),
            m("gewicht", "71", 1),
        ];
        let charts = trends(&data);
        assert_eq!(charts.len(), 1, "weight has one value only");
        let hb = &charts[0];
        assert_eq!(hb.key, "hb");
        let values: Vec<&str> = hb.points.iter().map(|p| p.value.as_str()).collect();
        assert_eq!(values, ["6,9", "7,4"]);
        assert!(hb.svg.starts_with("<svg") && hb.svg.ends_with("</svg>"));
        assert!(hb
            .svg
            .contains("2 metingen van 01-01-2026 tot 03-01-2026, laatste 7,4"));
        assert_eq!(hb.svg.matches("<circle").count(), 2);
    }

    #[test]
    fn blood_pressure_draws_two_lines() {
        let data = [m("bloeddruk", "118/76", 1), m("85354-9", "124/81", 8)];
        let charts = trends(&data);
        assert_eq!(charts[0].points[1].value, "124/81");
        assert_eq!(charts[0].svg.matches("<polyline").count(), 2);
    }

    #[test]
    fn a_unit_with_markup_never_reaches_the_svg() {
        let mut a = m("hb", "7", 1);
        a.unit = Some("<script>");
        let charts = trends(&[m("hb", "6", 0), a]);
        assert!(!charts[0].svg.contains("<script>"));
    }
}
