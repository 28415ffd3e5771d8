#pragma once
// The image_features operator: decodes the image bytes of a string column
// with OpenCV and appends a feature vector (HOG, LBP histograms or raw
// pixels) as double columns. OpenCV stays inside this folder's .cc files.

#include <memory>

#include "operators/core/operator.h"

namespace eddy {

// REQUIRES: spec.has_image_features(). Checks the spec against the input
// schema (the column exists and holds strings, the sizes fit the
// extractor) and fixes the feature count.
Result<std::unique_ptr<Operator>> MakeImageFeaturesOperator(const spec::OperatorSpec& spec,
                                                            const Schema& input_schema,
                                                            const SpecErrorReporter& error_at);

}  // namespace eddy
