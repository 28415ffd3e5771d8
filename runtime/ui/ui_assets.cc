#include "runtime/ui/ui_assets.h"

namespace eddy::ui {

const Asset* FindAsset(std::string_view path) {
  const Asset* index = nullptr;
  for (const Asset& asset : Assets()) {
    if (path == asset.path) return &asset;
    if (std::string_view(asset.path) == "index.html") index = &asset;
  }
  if (path.rfind("assets/", 0) == 0) return nullptr;
  return index;
}

}  // namespace eddy::ui
