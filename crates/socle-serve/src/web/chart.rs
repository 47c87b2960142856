//! Charts drawn on the server as SVG: no script, no CDN, the page works offline, and every mark
//! is in the markup a screen reader and a test read. One mark per row of the table page: a bar
//! (`barres`) or a point on a line (`lignes`), each focusable (`tabindex="0"`) and carrying an
//! `aria-label` with its row's label and value, and its raw value in `data-valeur`. A suppressed
//! or missing value is a mark of no height whose label says so.

use maud::{Markup, html};

/// The kind of chart a mart's `tableau_de_bord` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bars,
    Lines,
}

/// One mark: a row of the table page.
#[derive(Debug, Clone)]
pub struct Mark {
    pub label: String,
    pub value: Option<f64>,
    /// The value as the table shows it (French number format, or "supprimée").
    pub shown: String,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 12.0;

fn fmt(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// The chart of `marks`, titled `title`, the measure named `value_label`.
pub fn render(kind: Kind, title: &str, value_label: &str, marks: &[Mark]) -> Markup {
    let values: Vec<f64> = marks.iter().filter_map(|m| m.value).filter(|v| v.is_finite()).collect();
    let max = values.iter().cloned().fold(0.0_f64, f64::max);
    let min = values.iter().cloned().fold(0.0_f64, f64::min);
    let span = if max - min > 0.0 { max - min } else { 1.0 };
    let plot_h = HEIGHT - BOTTOM - TOP;
    let y_of = |v: f64| TOP + (max - v) / span * plot_h;
    let zero = y_of(0.0);
    let n = marks.len().max(1) as f64;
    let step = (WIDTH - LEFT) / n;
    let bar_w = (step * 0.7).max(1.0);
    let points: Vec<(f64, f64)> = marks
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.value.map(|v| (LEFT + step * (i as f64 + 0.5), y_of(v))))
        .collect();
    let polyline: String = points
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ");
    let chart_label = format!("{title}: {value_label}, {} marque(s)", marks.len());
    html! {
        figure.graphique {
            svg role="group" aria-label=(chart_label) viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
                width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg" {
                // Axis: zero line and the extremes.
                line.axe x1=(LEFT) x2=(WIDTH) y1=(zero) y2=(zero) {}
                text.graduation x=(LEFT - 4.0) y=(TOP + 4.0) text-anchor="end" aria-hidden="true" { (fmt(max)) }
                @if min < 0.0 {
                    text.graduation x=(LEFT - 4.0) y=(HEIGHT - BOTTOM) text-anchor="end" aria-hidden="true" { (fmt(min)) }
                }
                text.graduation x=(LEFT - 4.0) y=(zero + 4.0) text-anchor="end" aria-hidden="true" { "0" }
                @if kind == Kind::Lines && points.len() > 1 {
                    polyline.ligne points=(polyline) fill="none" aria-hidden="true" {}
                }
                @for (i, m) in marks.iter().enumerate() {
                    @let x = LEFT + step * i as f64;
                    @let aria = format!("{} : {}", m.label, m.shown);
                    @let raw = m.value.map(fmt).unwrap_or_default();
                    @match (kind, m.value) {
                        (Kind::Bars, Some(v)) => {
                            @let (y, h) = if v >= 0.0 { (y_of(v), zero - y_of(v)) } else { (zero, y_of(v) - zero) };
                            rect.marque tabindex="0" role="img" aria-label=(aria) data-valeur=(raw)
                                x=(format!("{:.1}", x + (step - bar_w) / 2.0)) y=(format!("{y:.1}"))
                                width=(format!("{bar_w:.1}")) height=(format!("{:.1}", h.max(0.5))) {
                                title { (aria) }
                            }
                        }
                        (Kind::Lines, Some(v)) => {
                            circle.marque tabindex="0" role="img" aria-label=(aria) data-valeur=(raw)
                                cx=(format!("{:.1}", x + step / 2.0)) cy=(format!("{:.1}", y_of(v))) r="4" {
                                title { (aria) }
                            }
                        }
                        (_, None) => {
                            rect.marque.vide tabindex="0" role="img" aria-label=(aria) data-valeur=""
                                x=(format!("{:.1}", x + (step - bar_w) / 2.0)) y=(format!("{zero:.1}"))
                                width=(format!("{bar_w:.1}")) height="0" {
                                title { (aria) }
                            }
                        }
                    }
                }
            }
            figcaption { (title) " — " (value_label) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_labelled_mark_per_row() {
        let marks = vec![
            Mark {
                label: "866012 FRA".into(),
                value: Some(0.75),
                shown: "0,75".into(),
            },
            Mark {
                label: "866013 FRA".into(),
                value: None,
                shown: "supprimée".into(),
            },
            Mark {
                label: "866014 FRA".into(),
                value: Some(-2.0),
                shown: "-2".into(),
            },
        ];
        for kind in [Kind::Bars, Kind::Lines] {
            let svg = render(kind, "Taux", "Taux de réussite", &marks).into_string();
            assert_eq!(svg.matches("class=\"marque").count(), 3, "{svg}");
            assert!(svg.contains("aria-label=\"866012 FRA : 0,75\""));
            assert!(svg.contains("data-valeur=\"0.75\""));
            assert!(svg.contains("aria-label=\"866013 FRA : supprimée\""));
        }
    }
}
