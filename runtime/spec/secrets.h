#pragma once
// Keeping secrets out of everything Eddy shows or stores: API responses,
// logs, checkpoints (the job spec in every manifest) and metrics.
//
// A secret is the value of a key that looks like one (IsSecretKey). Job
// files must take credentials (IsCredentialKey) from the environment (`${VAR}`, or `VAR_FILE`
// pointing at a file, docs/job-file.md); `eddy serve` refuses inline ones. Once loaded, the spec
// holds the real values (the connectors need them): RedactSpec blanks them before the spec is
// shown, hashed or written into a checkpoint, and SecretScrubber removes them from any text (error
// messages) that might quote them.

#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/spec/job_spec.pb.h"

namespace eddy {

// What a redacted value reads as.
inline constexpr char kRedacted[] = "[redacted]";

// True for keys whose values are redacted wherever the spec is shown or
// stored (case-insensitive): the password-like keys below, and every
// "sasl.*", "ssl.key.*" and "ssl.keystore.*" key.
bool IsSecretKey(std::string_view key);

// True for keys that hold credentials themselves and so must never be
// written inline in a job file: names containing "password", "secret",
// "token" or "credential", and sasl.jaas.config (which embeds a password).
bool IsCredentialKey(std::string_view key);

// Replaces, anywhere in `spec`, every string field and every map<string,
// string> entry whose name or key is a secret with kRedacted.
void RedactSpec(google::protobuf::Message* spec);

// Every secret value in `spec` (non-empty, unredacted), for scrubbing.
std::vector<std::string> SecretValues(const google::protobuf::Message& spec);

// Checks the job file text: a secret key whose value is written inline (no
// `${...}` reference) is InvalidArgument "FILE:LINE:COL: KEY: ...". YAML
// syntax errors are left to the loader (OK here).
Status CheckNoInlineSecrets(std::string_view yaml, const std::string& file_name);

// Replaces each of `secrets` found in `text` with kRedacted.
std::string Scrub(std::string text, const std::vector<std::string>& secrets);

}  // namespace eddy
