# CPACK_PRE_BUILD_SCRIPTS step of `cpack -G DEB` (after compress_man.cmake):
# puts the two files Debian policy requires of every package into
# /usr/share/doc/auditdistd of cpack's staging tree, as dh_installdocs and
# dh_installchangelogs would: copyright (machine-readable, DEP-5) and
# changelog.Debian.gz (gzip -9n: no name, no time stamp, reproducible).
# `cmake --install` does not install them: they describe the package.
set(doc "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/usr/share/doc/auditdistd")
if(NOT IS_DIRECTORY "${doc}")
  message(FATAL_ERROR "no ${doc} in the staging tree")
endif()
# Plain copies: file(INSTALL) would prepend DESTDIR, which cpack sets to the
# staging tree this path already names.
file(COPY_FILE "${CPACK_ADIST_DEBIAN_DIR}/copyright" "${doc}/copyright")
execute_process(COMMAND gzip -9nc "${CPACK_ADIST_DEBIAN_DIR}/changelog"
                OUTPUT_FILE "${doc}/changelog.Debian.gz" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip -9n ${CPACK_ADIST_DEBIAN_DIR}/changelog failed")
endif()
file(CHMOD "${doc}/copyright" "${doc}/changelog.Debian.gz"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
