# qwen3c_forbid_compiler_dependencies(TARGET)
#
# Fails the configure step when TARGET links, directly or through any target it links,
# a compiler library: LLVM, MLIR, shaderc, glslang or SPIRV-Tools. The runtime has to
# load and run artifacts on machines where only the runtime is installed.

function(_qwen3c_collect_links target out_var)
  set(seen ${${out_var}})
  if(target IN_LIST seen)
    return()
  endif()
  list(APPEND seen ${target})
  set(links "")
  if(TARGET ${target})
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(direct ${target} LINK_LIBRARIES)
      if(direct)
        list(APPEND links ${direct})
      endif()
    endif()
    get_target_property(iface ${target} INTERFACE_LINK_LIBRARIES)
    if(iface)
      list(APPEND links ${iface})
    endif()
  endif()
  foreach(dep IN LISTS links)
    # Strip generator expressions such as $<LINK_ONLY:x>.
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" dep "${dep}")
    if(dep MATCHES "^\\$<")
      continue()
    endif()
    _qwen3c_collect_links(${dep} seen)
  endforeach()
  set(${out_var} ${seen} PARENT_SCOPE)
endfunction()

function(qwen3c_forbid_compiler_dependencies target)
  set(closure "")
  _qwen3c_collect_links(${target} closure)
  foreach(dep IN LISTS closure)
    if(dep MATCHES "(^|[/:_-])(LLVM|MLIR|mlir|shaderc|glslang|SPIRV)" OR dep MATCHES "libLLVM|libMLIR")
      message(FATAL_ERROR
        "${target} must not link compiler libraries, but its link closure contains '${dep}'. "
        "Move the code that needs it out of runtime/.")
    endif()
  endforeach()
endfunction()
