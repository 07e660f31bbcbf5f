#!/usr/bin/env node
// `cdk synth` / `cdk deploy` entry point (cdk.json). Bundling runs the local cargo-lambda
// (`make setup` installs it) for each function, arm64, release.
import { app } from '../lib/stack';

app().synth();
