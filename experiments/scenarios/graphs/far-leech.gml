graph [
  comment "far-leech.toml's graph: a chain of leeches hanging off the seed (a1 one hop from it,
  a2 two, a3 three), and a leech c whose only neighbour x neither seeds nor fetches."
  node [ id 0 label "seed" group "seeds" ]
  node [ id 1 label "a1" group "chain" ]
  node [ id 2 label "a2" group "chain" ]
  node [ id 3 label "a3" group "chain" ]
  node [ id 4 label "x" group "idle" ]
  node [ id 5 label "c" group "far" ]
  edge [ source 0 target 1 ]
  edge [ source 1 target 2 ]
  edge [ source 2 target 3 ]
  edge [ source 0 target 4 latency "50 ms" ]
  edge [ source 4 target 5 ]
]
