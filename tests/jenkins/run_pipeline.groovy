// A stand-in for the Jenkins steps that ci-tags' shared library (vars/) calls, to run the library for real without
// a Jenkins server: `groovy run_pipeline.groovy JOB.json` runs the job's pipeline script with the library's global
// variables loaded and writes a report (result, log, stages, nodes, every sh) to the job's "report" path.
//
// What it reproduces, from the steps' documentation: `sh` runs the script in a real /bin/sh -xe (as Jenkins does)
// in the workspace with the build's environment, and fails on a non-zero exit ("script returned exit code N")
// unless returnStatus/returnStdout; `parallel` runs its branches concurrently on threads, waits for all and fails
// with a failed branch's error; `node` takes a label expression (&&, ||, !, parentheses), picks an agent whose
// labels match and that has a free executor, gives it a workspace of its own (@2 when one is busy) and sets
// WORKSPACE, WORKSPACE_TMP, NODE_NAME, NODE_LABELS; `checkout` checks the job's commit out with git;
// `withEnv` (PATH+X prepends), `withCredentials`/`usernamePassword` (masked in the log), `dir`, `readFile`,
// `readJSON` (returnPojo: true), `stage`, `catchError` (buildResult, stageResult, message), `unstable`, `error`,
// `echo`, `env` (per block, `env.X =` for the whole build) and `currentBuild` (result, currentResult; results only
// get worse). A step or a property it does not provide FAILS the run (exit code 3), even when the library catches
// the error, so a missing step cannot silently skip work; so does a step called from a @NonCPS method (or a closure
// in one), which cannot work under Jenkins' CPS.
//
// What it does not reproduce: the rest of CPS (no continuation-passing transformation, no serialisation of the
// program's state at each step, no resumption after a restart: a non-serialisable local kept across a step, or a
// CPS method called from a @NonCPS one, is not caught here); the script security sandbox and its approvals; agents
// on other machines (every agent is a folder on this machine, with this machine's architecture); queueing,
// timeouts and failFast interruption; declarative `pipeline {}` beyond what Declarative.groovy stands for (agent
// none/any/label, environment, parameters, triggers, stages with steps and script, post), each by its documentation.
//
// A build is a Multibranch Pipeline's (BRANCH_NAME set) unless the job says "multibranch": false (a plain Pipeline
// job: no BRANCH_NAME; the checkout's GIT_BRANCH is "scm.gitBranch"); "params" are the values it was started with
// (`params`); "causes" its causes' classes (`currentBuild.getBuildCauses`); `currentBuild.description` is reported.
//
// Run: groovy -cp tests/jenkins tests/jenkins/run_pipeline.groovy JOB.json (the harness' classes are the
// other files here, one class per file of its name, which is how Groovy finds them on the class path).

import groovy.json.JsonSlurper

if (args.length != 1) {
    System.err.println('usage: groovy run_pipeline.groovy JOB.json')
    System.exit(2)
}
Map job = new JsonSlurper().parse(new File(args[0])) as Map
System.exit(new Harness(job).run())
