//! `target/bench/vs-zk.png`: one bar per compared figure, the ratio on a log scale around 1
//! (right of the line, green: Zabra better; left, red: ZooKeeper better). Drawn with
//! `plotters` into a bitmap; its text uses DejaVu Sans from the `dejavu` crate (through
//! plotters' `ab_glyph` feature), so no system font or fontconfig is needed.

use super::report::Row;
use crate::Result;
use plotters::prelude::*;
use serde_json::Value;
use std::path::Path;

/// The figures worth a bar: throughput, p99, CPU per request, memory, failover.
fn charted(r: &Row) -> bool {
    !(r.metric.ends_with(" p50") || r.metric.ends_with(" p99.9")) && r.ratio().is_some()
}

pub fn draw(path: &Path, doc: &Value, rows: &[Row]) -> Result {
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the DejaVu Sans font did not load")?;
    let rows: Vec<&Row> = rows.iter().filter(|r| charted(r)).collect();
    let n = rows.len().max(1);
    let height = 140 + 22 * n as u32;
    let root = BitMapBackend::new(path, (1200, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let m = &doc["machine"];
    let title = format!(
        "Zabra vs ZooKeeper 3.8, 3 servers each: ratio per figure (> 1: Zabra better), {} run {}",
        doc["mode"].as_str().unwrap_or(""),
        doc["date"].as_str().unwrap_or("")
    );
    let sub = format!(
        "{} CPUs, load {} before / {} after, fsync 4 KiB p50: append {:.2} ms, rewrite {:.2} ms; workloads: {}",
        m["cpus"],
        m["loadavg_before"].as_str().unwrap_or("?"),
        m["loadavg_after"].as_str().unwrap_or("?"),
        m["fsync_4k"]["append"]["p50_us"].as_f64().unwrap_or(f64::NAN) / 1e3,
        m["fsync_4k"]["rewrite"]["p50_us"].as_f64().unwrap_or(f64::NAN) / 1e3,
        doc["workloads_method"].as_str().unwrap_or("")
    );
    let (top, body) = root.split_vertically(56);
    top.draw(&Text::new(title, (10, 8), ("sans-serif", 18).into_font())).map_err(|e| e.to_string())?;
    top.draw(&Text::new(sub, (10, 32), ("sans-serif", 14).into_font())).map_err(|e| e.to_string())?;
    let ratios: Vec<f64> = rows.iter().filter_map(|r| r.ratio()).collect();
    let reach = ratios.iter().map(|r| r.max(1.0 / r)).fold(2.0f64, f64::max).min(1000.0) * 1.5;
    bars(&body, &rows, reach).map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn bars(area: &Area, rows: &[&Row], reach: f64) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let n = rows.len();
    let names: Vec<String> = rows.iter().map(|r| format!("{} ({})", r.metric, r.unit)).collect();
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(360)
        .build_cartesian_2d((1.0 / reach..reach).log_scale(), (0..n).into_segmented())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if *i < n => names[n - 1 - i].clone(),
            _ => String::new(),
        })
        .x_label_formatter(&|x| if *x >= 1.0 { format!("{x:.0}x") } else { format!("1/{:.0}x", 1.0 / x) })
        .label_style(("sans-serif", 13))
        .draw()?;
    // The first row at the top: segment n-1.
    let at = |i: usize| n - 1 - i;
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let ratio = r.ratio().unwrap_or(1.0);
        let color = if ratio >= 1.0 { RGBColor(46, 160, 67) } else { RGBColor(207, 34, 46) };
        let (from, to) = (SegmentValue::Exact(at(i)), SegmentValue::Exact(at(i) + 1));
        let mut bar = Rectangle::new([(1.0, from), (ratio, to)], color.filled());
        bar.set_margin(3, 3, 0, 0);
        bar
    }))?;
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let ratio = r.ratio().unwrap_or(1.0);
        Text::new(
            format!(" {ratio:.2}"),
            (ratio.max(1.0), SegmentValue::CenterOf(at(i))),
            ("sans-serif", 12).into_font(),
        )
    }))?;
    chart.draw_series(LineSeries::new([(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Exact(n))], BLACK))?;
    Ok(())
}
