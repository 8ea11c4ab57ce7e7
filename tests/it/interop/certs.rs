//! Certificates made with the `openssl` CLI for the interoperability tests: test CAs, and leaves
//! signed by them with any validity dates (`openssl ca -startdate/-enddate`).

use std::path::Path;
use std::process::Command;

/// Runs `openssl ARGS…` in `dir`; it must succeed.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is not installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `-newkey` arguments for an RSA or EC (P-256) key.
pub fn new_key(ec: bool) -> &'static [&'static str] {
    if ec {
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    } else {
        &["-newkey", "rsa:2048"]
    }
}

/// A test CA made with `openssl req -x509` in `dir`: NAME.pem, NAME.key, and what `openssl ca`
/// needs to sign with it.
pub fn openssl_ca(dir: &Path, name: &str) {
    let cn = format!("/CN=interop {name}");
    let mut args = vec![
        "req",
        "-x509",
        "-nodes",
        "-days",
        "365",
        "-subj",
        cn.as_str(),
    ];
    args.extend_from_slice(new_key(true));
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    args.extend_from_slice(&["-keyout", key.as_str(), "-out", pem.as_str()]);
    openssl(dir, &args);
    let db = dir.join(format!("{name}-db"));
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("index.txt"), "").unwrap();
    std::fs::write(db.join("serial"), "01\n").unwrap();
    std::fs::write(
        dir.join(format!("{name}.cnf")),
        format!(
            "[ca]\ndefault_ca = test\n[test]\ndatabase = {0}/index.txt\nnew_certs_dir = {0}\n\
             serial = {0}/serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n",
            db.display()
        ),
    )
    .unwrap();
}

/// A leaf `NAME.pem`/`NAME.key` for `dns`, signed by `ca` with `openssl ca`, valid from
/// `from_days` days to `until_hours` hours from now (negative: in the past).
pub fn openssl_leaf(dir: &Path, ca: &str, name: &str, dns: &str, from_days: i64, until_hours: i64) {
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let mut args = vec!["req", "-new", "-nodes", "-subj", "/CN=localhost"];
    args.extend_from_slice(new_key(false));
    args.extend_from_slice(&["-keyout", key.as_str(), "-out", csr.as_str()]);
    openssl(dir, &args);
    let ext = format!("{name}.ext");
    std::fs::write(
        dir.join(&ext),
        format!("subjectAltName=DNS:{dns}\nbasicConstraints=CA:FALSE\n"),
    )
    .unwrap();
    let date = |offset: time::Duration| {
        let at = time::OffsetDateTime::now_utc() + offset;
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        )
    };
    let (start, end) = (
        date(time::Duration::days(from_days)),
        date(time::Duration::hours(until_hours)),
    );
    let (cnf, ca_pem, ca_key) = (
        format!("{ca}.cnf"),
        format!("{ca}.pem"),
        format!("{ca}.key"),
    );
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-notext",
            "-config",
            cnf.as_str(),
            "-cert",
            ca_pem.as_str(),
            "-keyfile",
            ca_key.as_str(),
            "-in",
            csr.as_str(),
            "-out",
            pem.as_str(),
            "-extfile",
            ext.as_str(),
            "-startdate",
            start.as_str(),
            "-enddate",
            end.as_str(),
        ],
    );
}
