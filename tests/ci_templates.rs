//! The CI templates in ci/ are run here as a pipeline would run them: the workflow's
//! fwgate steps (GitHub) and the job's script (GitLab) execute in bash with the platform's
//! variables set, and what the upload steps name must then exist.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;
use yaml_rust2::{Yaml, YamlLoader};

fn load(rel: &str) -> Yaml {
    let text = fs::read_to_string(repo(rel)).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn path_env() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Replaces `${{ secrets.X }}` / `${{ env.X }}` / `${{ github.ref_name }}` as Actions would.
fn expr(value: &str, secrets: &HashMap<&str, String>, env: &HashMap<String, String>) -> String {
    let mut out = value.to_string();
    while let Some(start) = out.find("${{") {
        let end = out[start..].find("}}").map(|e| start + e + 2).unwrap();
        let inner = out[start + 3..end - 2].trim();
        let v = if let Some(s) = inner.strip_prefix("secrets.") {
            secrets.get(s).cloned().unwrap_or_default()
        } else if let Some(e) = inner.strip_prefix("env.") {
            env.get(e).cloned().unwrap_or_default()
        } else if inner == "github.ref_name" {
            env["GITHUB_REF_NAME"].clone()
        } else {
            panic!("unsupported expression {inner}")
        };
        out.replace_range(start..end, &v);
    }
    out
}

/// An artifact path a template keeps: the signature exists exactly when the job signed, the
/// attestations exactly when it had a key (they state a FAILED verdict too), everything else
/// always (the templates keep artifacts `always`).
fn check_artifact(path: &str, work: &Path, signed: bool, keyed: bool) {
    if path.ends_with(".minisig") {
        assert_eq!(
            Path::new(path).exists(),
            signed,
            "signature presence: {path}"
        );
    } else if path.ends_with(".intoto.jsonl") {
        assert_eq!(
            Path::new(path).exists(),
            keyed,
            "attestation presence: {path}"
        );
    } else {
        assert!(work.join(path).exists(), "{path} missing");
    }
}

/// Runs the Prepare-key and Release-gate steps of the GitHub workflow in `work`.
fn run_github(image: &Path, key: Option<&Path>, work: &Path) -> bool {
    let wf = load("ci/github-actions.yml");
    assert_eq!(
        wf["defaults"]["run"]["shell"].as_str(),
        Some("bash"),
        "pipefail needs shell: bash"
    );
    let mut env: HashMap<String, String> = HashMap::new();
    for (k, v) in wf["env"].as_hash().unwrap() {
        env.insert(k.as_str().unwrap().into(), v.as_str().unwrap().into());
    }
    env.insert("FIRMWARE".into(), image.display().to_string());
    env.insert("GITHUB_REF_NAME".into(), "v2.4.1".into());
    let runner_temp = work.join("runner-temp");
    fs::create_dir_all(&runner_temp).unwrap();
    env.insert("RUNNER_TEMP".into(), runner_temp.display().to_string());
    let mut secrets = HashMap::new();
    if let Some(k) = key {
        secrets.insert("FWGATE_SIGNING_KEY", fs::read_to_string(k).unwrap());
    }
    let steps = wf["jobs"]["gate"]["steps"].as_vec().unwrap();
    let mut ok = true;
    for id in ["key", "gate"] {
        let step = steps
            .iter()
            .find(|s| s["id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("no step with id {id}"));
        let mut cmd = Command::new("bash");
        // What `shell: bash` means on Actions.
        cmd.args([
            "--noprofile",
            "--norc",
            "-eo",
            "pipefail",
            "-c",
            step["run"].as_str().unwrap(),
        ])
        .current_dir(work)
        .env("PATH", path_env());
        cmd.envs(&env);
        if let Some(h) = step["env"].as_hash() {
            for (k, v) in h {
                cmd.env(
                    k.as_str().unwrap(),
                    expr(v.as_str().unwrap(), &secrets, &env),
                );
            }
        }
        ok &= run(&mut cmd).status.success();
        if !ok {
            break;
        }
    }
    // What the upload steps name exists even when the gate failed (`if: always()`).
    let sarif = steps
        .iter()
        .find_map(|s| s["with"]["sarif_file"].as_str())
        .unwrap();
    assert!(work.join(sarif).is_file(), "{sarif} missing");
    let paths = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact"))
        })
        .unwrap()["with"]["path"]
        .as_str()
        .unwrap();
    for p in paths.lines().map(str::trim).filter(|p| !p.is_empty()) {
        let p = expr(p, &HashMap::new(), &env);
        check_artifact(&p, work, ok && key.is_some(), key.is_some());
    }
    ok
}

/// Runs the GitLab job's script lines, as the runner does, in `work`.
fn run_gitlab(image: &Path, key: Option<&Path>, work: &Path) -> bool {
    let ci = load("ci/gitlab-ci.yml");
    let job = &ci["fwgate-gate"];
    let script: Vec<&str> = job["script"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let mut cmd = Command::new("bash");
    cmd.args(["-e", "-c", &script.join("\n")])
        .current_dir(work)
        .env("PATH", path_env());
    for (k, v) in job["variables"].as_hash().unwrap() {
        cmd.env(k.as_str().unwrap(), v.as_str().unwrap());
    }
    cmd.env("FIRMWARE", image)
        .env("CI_COMMIT_SHORT_SHA", "abc1234")
        .env_remove("CI_COMMIT_TAG");
    if let Some(k) = key {
        // A "File" variable: GitLab writes it to a temporary file and passes the path.
        let f = work.join("gitlab-file-var");
        fs::copy(k, &f).unwrap();
        cmd.env("FWGATE_SIGNING_KEY", &f);
    }
    let ok = run(&mut cmd).status.success();
    assert_eq!(job["artifacts"]["when"].as_str(), Some("always"));
    for p in job["artifacts"]["paths"].as_vec().unwrap() {
        let p = p
            .as_str()
            .unwrap()
            .replace("$FIRMWARE", &image.display().to_string());
        check_artifact(&p, work, ok && key.is_some(), key.is_some());
    }
    ok
}

fn exercise(runner: fn(&Path, Option<&Path>, &Path) -> bool) {
    // The router image fails the pipeline and is not signed; SARIF is still produced.
    let tmp = tempfile::tempdir().unwrap();
    let image = sample_copy("router.bin", tmp.path());
    let (key, public) = {
        let o = run(fwgate()
            .args(["keygen", "--out-dir"])
            .arg(tmp.path())
            .args(["--name", "ci", "--unencrypted"]));
        assert!(o.status.success());
        (tmp.path().join("ci.key"), tmp.path().join("ci.pub"))
    };
    let work = tmp.path().join("router-job");
    fs::create_dir(&work).unwrap();
    assert!(
        !runner(&image, Some(&key), &work),
        "the router image must fail the pipeline"
    );
    let sarif: serde_json::Value =
        serde_json::from_slice(&fs::read(work.join("fwgate-out/fwgate.sarif")).unwrap()).unwrap();
    assert!(sarif["runs"][0]["results"].as_array().unwrap().len() >= 4);

    // The clean image passes and is signed with the key from the secret store.
    let image = sample_copy("clean.bin", tmp.path());
    let work = tmp.path().join("clean-job");
    fs::create_dir(&work).unwrap();
    assert!(
        runner(&image, Some(&key), &work),
        "the clean image must pass"
    );
    assert!(
        run(fwgate().arg("verify").arg(&image).arg("--key").arg(&public))
            .status
            .success()
    );
    assert!(fs::read_to_string(work.join("fwgate-out/summary.txt"))
        .unwrap()
        .contains("gate      PASS"));
    assert!(run(fwgate()
        .args(["evidence", "verify"])
        .arg(work.join("fwgate-out/evidence")))
    .status
    .success());

    // Without a key the clean image passes and nothing is signed.
    let tmp2 = tempfile::tempdir().unwrap();
    let image = sample_copy("clean.bin", tmp2.path());
    assert!(runner(&image, None, tmp2.path()));
}

#[test]
fn github_actions_template_runs_locally() {
    exercise(run_github);
}

#[test]
fn gitlab_ci_template_runs_locally() {
    exercise(run_gitlab);
}
