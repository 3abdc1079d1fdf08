graph [
  comment "for topology-file-unknown-group.toml: node c names a group the scenario lacks"
  node [ id 0 label "a" group "seeds" ]
  node [ id 1 label "b" group "seeds" ]
  node [ id 2 label "c" group "leechers" ]
  node [ id 3 label "d" group "leeches" ]
  node [ id 4 label "e" group "leeches" ]
  edge [ source 0 target 2 ]
  edge [ source 1 target 3 ]
  edge [ source 3 target 4 ]
]
