# Runs at install time (from cmake_install.cmake, for `cmake --install` and
# for cpack), not at configure time: it configures etc/auditdistd.service
# for the prefix the files are really installed under, and installs it.
#
# Deciding here rather than in configure_file() at configure time matters
# because one build tree is installed under several prefixes: a build
# configured with the default /usr/local is packaged by `cpack -G DEB` under
# /usr, and `cmake --install build --prefix DIR` stages it anywhere. In each
# case ExecStart= names the auditdistd that this same install puts in
# <prefix>/sbin.
#
# Unit directory:
#   prefix /usr   -> /lib/systemd/system (Debian 12's systemdsystemunitdir,
#                    where dh_installsystemd puts units; the same directory
#                    as /usr/lib/systemd/system on a merged-/usr system)
#   other prefix  -> <prefix>/lib/systemd/system (for /usr/local, a
#                    directory systemd itself reads: systemd.unit(5))
#   ADIST_SYSTEMD_UNITDIR set at configure time -> that directory
#
# Input variables, set by the install(CODE) in packaging/CMakeLists.txt:
#   adist_unit_template  etc/auditdistd.service (with @SBINDIR@)
#   adist_unit_work      a build-tree directory for the configured copy
#   adist_sbindir        CMAKE_INSTALL_SBINDIR (relative, or absolute)
#   adist_unitdir        ADIST_SYSTEMD_UNITDIR (empty: the rule above)

if(IS_ABSOLUTE "${adist_sbindir}")
  set(SBINDIR "${adist_sbindir}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/")
  set(SBINDIR "/${adist_sbindir}")
else()
  set(SBINDIR "${CMAKE_INSTALL_PREFIX}/${adist_sbindir}")
endif()

if(NOT adist_unitdir STREQUAL "")
  set(unitdir "${adist_unitdir}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR CMAKE_INSTALL_PREFIX STREQUAL "/")
  set(unitdir "/lib/systemd/system")
else()
  set(unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
if(NOT IS_ABSOLUTE "${unitdir}")
  set(unitdir "${CMAKE_INSTALL_PREFIX}/${unitdir}")
endif()

# One configured copy per prefix, so that a `cmake --install` and a cpack
# of the same build tree at the same time do not overwrite each other's.
string(MD5 prefix_hash "${SBINDIR}")
set(configured "${adist_unit_work}/${prefix_hash}/auditdistd.service")
configure_file("${adist_unit_template}" "${configured}" @ONLY)

# Like the code CMake generates for an absolute DESTINATION: a unit
# directory outside the prefix is reported to cpack, which refuses it for
# generators that cannot hold one (CMAKE_ERROR_ON_ABSOLUTE_INSTALL_DESTINATION).
string(FIND "${unitdir}/" "${CMAKE_INSTALL_PREFIX}/" under_prefix)
if(NOT under_prefix EQUAL 0)
  list(APPEND CMAKE_ABSOLUTE_DESTINATION_FILES "${unitdir}/auditdistd.service")
  if(CMAKE_WARN_ON_ABSOLUTE_INSTALL_DESTINATION)
    message(WARNING "ABSOLUTE path INSTALL DESTINATION : ${unitdir}/auditdistd.service")
  endif()
  if(CMAKE_ERROR_ON_ABSOLUTE_INSTALL_DESTINATION)
    message(FATAL_ERROR "ABSOLUTE path INSTALL DESTINATION forbidden (by caller): ${unitdir}/auditdistd.service")
  endif()
endif()

# file(INSTALL) prepends $ENV{DESTDIR}, prints "-- Installing:" and records
# the file in install_manifest.txt, like the rules CMake generates.
file(INSTALL DESTINATION "${unitdir}" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     FILES "${configured}")
