# CPACK_PRE_BUILD_SCRIPTS step of `cpack -G DEB`: Debian policy wants manual
# pages compressed with gzip -9n (no name, no time stamp: reproducible), as
# dh_compress does. Runs on cpack's staging tree after the install and before
# the package (and its md5sums) is made; `cmake --install` leaves the pages
# as they are.
file(GLOB pages "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/usr/share/man/man*/*.[1-9]")
if(NOT pages)
  message(FATAL_ERROR "no manual pages under ${CPACK_TEMPORARY_INSTALL_DIRECTORY}/usr/share/man")
endif()
foreach(page IN LISTS pages)
  execute_process(COMMAND gzip -9nf "${page}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip -9n ${page} failed")
  endif()
endforeach()
