# The Debian package: `cpack -G DEB` in a build dir (a Release or RelWithDebInfo one) makes
# zl-cni_<version>_<arch>.deb:
#   /opt/cni/bin/zl-{ipam,bridge,wg}      the plugins (stripped), where CNI runtimes look first
#   /usr/lib/cni/zl-*                     symlinks to them, for Debian's podman and containerd
#   /usr/share/doc/zl-cni/examples/       conf/*.conflist and conf/zl-mesh-peers.json
#   /usr/sbin/zl-meshd, /lib/systemd/system/zl-meshd@.service   once the mesh agent exists
# Everything but the plugins is in the component "deb", left out of a plain `cmake --install`
# (which puts only the plugins under <prefix>/bin): its destinations are absolute.
if(NOT CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo|MinSizeRel)$" OR ZL_SANITIZE OR ZL_FUZZ)
  message(STATUS "package: a ${CMAKE_BUILD_TYPE} build (sanitizers ${ZL_SANITIZE}); the .deb wants Release, no sanitizers")
endif()

set(ZL_DEB_DOC /usr/share/doc/zl-cni)
file(GLOB zl_examples CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/conf/*.conflist)
install(FILES ${zl_examples} ${CMAKE_SOURCE_DIR}/conf/zl-mesh-peers.json
  DESTINATION ${ZL_DEB_DOC}/examples COMPONENT deb EXCLUDE_FROM_ALL)

# /usr/lib/cni/<plugin> -> /opt/cni/bin/<plugin>, made here and installed as links.
set(zl_links ${CMAKE_BINARY_DIR}/deb-links)
file(MAKE_DIRECTORY ${zl_links})
foreach(plugin ${ZL_PLUGINS})
  file(CREATE_LINK ${CMAKE_INSTALL_PREFIX}/bin/${plugin} ${zl_links}/${plugin} SYMBOLIC)
  install(FILES ${zl_links}/${plugin} DESTINATION /usr/lib/cni COMPONENT deb EXCLUDE_FROM_ALL)
endforeach()

if(TARGET zl-meshd)
  install(TARGETS zl-meshd RUNTIME DESTINATION /usr/sbin COMPONENT deb EXCLUDE_FROM_ALL)
endif()
if(EXISTS ${CMAKE_SOURCE_DIR}/conf/zl-meshd@.service)
  install(FILES ${CMAKE_SOURCE_DIR}/conf/zl-meshd@.service
    DESTINATION /lib/systemd/system COMPONENT deb EXCLUDE_FROM_ALL)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME zl-cni)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR zl-cni)
set(CPACK_PACKAGE_CONTACT "zl-cni maintainers <zl-cni@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "CNI plugins: IPAM, bridge with firewall, WireGuard mesh")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "zl-ipam (host-local IPAM with a file-locked JSON state), zl-bridge
(bridge and veth pairs, firewall through iptables or nftables) and zl-wg
(a WireGuard mesh device), in /opt/cni/bin and linked from /usr/lib/cni.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# One package holding both components; paths are absolute, staged under DESTDIR.
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_SET_DESTDIR ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL Unspecified deb)
set(CPACK_STRIP_FILES ON)
# Depends from the binaries (dpkg-shlibdeps, in dpkg-dev): libc6, libip4tc2, libip6tc2, libmnl0.
find_program(ZL_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(ZL_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  message(STATUS "no dpkg-shlibdeps (dpkg-dev): the .deb's Depends are listed by hand")
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.34), libip4tc2 (>= 1.8.3), libip6tc2 (>= 1.8.3), libmnl0 (>= 1.0.3)")
endif()
include(CPack)
