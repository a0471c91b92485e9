# Run by `cmake --install` (slurm/CMakeLists.txt sets PM_SLURM_SOURCE and PM_SLURM_STAGE):
# the source tree's default binary path becomes CMAKE_INSTALL_PREFIX/bin/pixelmill.
file(GLOB jobs "${PM_SLURM_SOURCE}/*.sbatch")
foreach(job ${jobs})
  get_filename_component(name "${job}" NAME)
  file(READ "${job}" text)
  string(REPLACE "$HOME/pixelmill/build/src/app/pixelmill" "${CMAKE_INSTALL_PREFIX}/bin/pixelmill"
         text "${text}")
  file(WRITE "${PM_SLURM_STAGE}/${name}" "${text}")
  file(INSTALL "${PM_SLURM_STAGE}/${name}" DESTINATION "${CMAKE_INSTALL_PREFIX}/share/pixelmill/slurm"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                        WORLD_READ WORLD_EXECUTE)
endforeach()
