# The Python files and package data the Slicer modules need besides their own scripts:
# every file of the headless `osteoimaging` package and of the shared widget helpers
# `OsteoImagingGui`, collected by GLOB so the install list cannot drift from the tree.
#
# Usable from the extension's CMakeLists.txt and in script mode:
#   cmake -DOSTEOIMAGING_SOURCE_DIR=<repo> -DOSTEOIMAGING_LIST_FILE=<out> -P CMake/OsteoImagingLogicFiles.cmake
# writes one path per line (relative to the repository) - the install list the tests check.
#
# Not installed: the validation studies in `studies/` (and their microarchitecture ground truth).
# They are a source-checkout tool (`osteo validate`), so they sit outside the two packages and
# no GLOB below reaches them; Testing/test_cmake_install.py checks that they stay out.

set(OSTEOIMAGING_PYTHON_PACKAGES osteoimaging OsteoImagingGui)
# Package data installed beside the code (keep in step with pyproject's package-data).
set(OSTEOIMAGING_DATA_PATTERNS "*.json" "*.yaml" "*.html" "*.css" "*.csv" "*.txt")

function(osteoimaging_collect_package_files source_dir scripts_var resources_var)
  set(_scripts)
  set(_resources)
  foreach(_package IN LISTS OSTEOIMAGING_PYTHON_PACKAGES)
    file(GLOB_RECURSE _py RELATIVE "${source_dir}" "${source_dir}/${_package}/*.py")
    list(APPEND _scripts ${_py})
    foreach(_pattern IN LISTS OSTEOIMAGING_DATA_PATTERNS)
      file(GLOB_RECURSE _data RELATIVE "${source_dir}" "${source_dir}/${_package}/${_pattern}")
      list(APPEND _resources ${_data})
    endforeach()
  endforeach()
  list(FILTER _scripts EXCLUDE REGEX "(^|/)__pycache__/")
  list(FILTER _resources EXCLUDE REGEX "(^|/)__pycache__/")
  list(SORT _scripts)
  list(SORT _resources)
  set(${scripts_var} ${_scripts} PARENT_SCOPE)
  set(${resources_var} ${_resources} PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE AND OSTEOIMAGING_LIST_FILE)
  if(NOT OSTEOIMAGING_SOURCE_DIR)
    get_filename_component(OSTEOIMAGING_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
  endif()
  osteoimaging_collect_package_files("${OSTEOIMAGING_SOURCE_DIR}" _scripts _resources)
  set(_lines ${_scripts} ${_resources})
  list(JOIN _lines "\n" _text)
  file(WRITE "${OSTEOIMAGING_LIST_FILE}" "${_text}\n")
endif()
