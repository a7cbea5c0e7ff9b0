//! Apache Curator's recipes, unchanged, in the `clients` stage: Debian's Curator 5.4 jars over
//! the zookeeper 3.8 client jars (apt-get installs them when missing, as root), one Java
//! program (`tests/clients/java/CuratorRecipes.java`) compiled with `javac` and run with
//! `java` against the stage's cluster. No Maven or Gradle: nothing is downloaded beyond the
//! Debian packages.

use crate::clients::{run_bounded, run_checked};
use crate::util::Ctx;
use crate::Result;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const JARS: &str = "/usr/share/java";
const PACKAGES: [&str; 3] = ["libcurator-client-java", "libcurator-framework-java", "libcurator-recipes-java"];
/// What the program needs at compile and run time: Curator, the ZooKeeper client and its
/// record classes (jute), Guava (with failureaccess inside Debian's jar), SLF4J with its
/// simple logger (warnings and errors only).
const CLASSPATH: [&str; 8] = [
    "curator-recipes.jar",
    "curator-framework.jar",
    "curator-client.jar",
    "zookeeper.jar",
    "zookeeper-jute.jar",
    "guava.jar",
    "slf4j-api.jar",
    "slf4j-simple.jar",
];
/// The program takes about 10 s; its own waits are bounded too.
const LIMIT: Duration = Duration::from_secs(180);

/// Installs the packages when a jar is missing (libzookeeper-java, libguava-java and
/// libslf4j-java, which has the simple logger, come as their dependencies).
fn packages() -> Result {
    if CLASSPATH.iter().all(|j| Path::new(JARS).join(j).is_file()) {
        return Ok(());
    }
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    run_checked(Command::new("apt-get").args(["update", "-qq"]).envs(env), "apt-get update")?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", "-qq"]).args(PACKAGES).envs(env);
    run_checked(&mut install, "apt-get install Curator")
}

/// Compiles and runs the Curator program against `hosts`, with the supervisor for kills.
pub fn run(ctx: &Ctx, hosts: &str, supervisor: &str, token: &str) -> Result {
    packages()?;
    let classes = ctx.target_dir()?.join("curator-classes");
    let jars: Vec<String> = CLASSPATH.iter().map(|j| format!("{JARS}/{j}")).collect();
    let classpath = jars.join(":");
    let source = ctx.root.join("tests/clients/java/CuratorRecipes.java");
    // -path: zookeeper.jar's manifest names a jline.jar Debian does not ship (zkCli's).
    let mut javac = Command::new("javac");
    javac.args(["-Xlint:all,-path", "-Werror", "-cp", &classpath, "-d"]).arg(&classes).arg(source);
    run_checked(&mut javac, "javac CuratorRecipes.java")?;
    let mut java = Command::new("java");
    java.args(["-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"])
        // The ZooKeeper client warns of the socket the server closes after a closeSession.
        .arg("-Dorg.slf4j.simpleLogger.log.org.apache.zookeeper.ClientCnxn=error")
        .arg("-cp")
        .arg(format!("{classpath}:{}", classes.display()))
        .args(["CuratorRecipes", hosts, supervisor, token]);
    run_bounded(&mut java, LIMIT, "Curator recipes (java CuratorRecipes)")
}
