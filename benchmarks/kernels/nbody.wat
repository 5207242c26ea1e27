;; N-body: the classic five-body model of the Sun and the outer planets, integrated with a
;; fixed step of 0.01 (symplectic Euler). Each body is 7 f64s in linear memory at 56 * index:
;; x, y, z, vx, vy, vz, mass. run(n) sets the bodies up, cancels the total momentum through
;; the Sun's velocity, advances n steps and returns the bits of the system's energy.
(module
  (memory 1)
  (global $solar_mass f64 (f64.const 39.47841760435743))   ;; 4 * pi * pi
  (global $days_per_year f64 (f64.const 365.24))

  ;; Store one body; velocities are given in AU/day and masses in solar masses.
  (func $body (param $p i32) (param $x f64) (param $y f64) (param $z f64)
              (param $vx f64) (param $vy f64) (param $vz f64) (param $m f64)
    local.get $p
    local.get $x
    f64.store offset=0
    local.get $p
    local.get $y
    f64.store offset=8
    local.get $p
    local.get $z
    f64.store offset=16
    local.get $p
    local.get $vx
    global.get $days_per_year
    f64.mul
    f64.store offset=24
    local.get $p
    local.get $vy
    global.get $days_per_year
    f64.mul
    f64.store offset=32
    local.get $p
    local.get $vz
    global.get $days_per_year
    f64.mul
    f64.store offset=40
    local.get $p
    local.get $m
    global.get $solar_mass
    f64.mul
    f64.store offset=48)

  (func $init
    (local $p i32) (local $px f64) (local $py f64) (local $pz f64) (local $m f64)
    i32.const 0        ;; Sun
    f64.const 0
    f64.const 0
    f64.const 0
    f64.const 0
    f64.const 0
    f64.const 0
    f64.const 1
    call $body
    i32.const 56       ;; Jupiter
    f64.const 4.84143144246472090e+00
    f64.const -1.16032004402742839e+00
    f64.const -1.03622044471123109e-01
    f64.const 1.66007664274403694e-03
    f64.const 7.69901118419740425e-03
    f64.const -6.90460016972063023e-05
    f64.const 9.54791938424326609e-04
    call $body
    i32.const 112      ;; Saturn
    f64.const 8.34336671824457987e+00
    f64.const 4.12479856412430479e+00
    f64.const -4.03523417114321381e-01
    f64.const -2.76742510726862411e-03
    f64.const 4.99852801234917238e-03
    f64.const 2.30417297573763929e-05
    f64.const 2.85885980666130812e-04
    call $body
    i32.const 168      ;; Uranus
    f64.const 1.28943695621391310e+01
    f64.const -1.51111514016986312e+01
    f64.const -2.23307578892655734e-01
    f64.const 2.96460137564761618e-03
    f64.const 2.37847173959480950e-03
    f64.const -2.96589568540237556e-05
    f64.const 4.36624404335156298e-05
    call $body
    i32.const 224      ;; Neptune
    f64.const 1.53796971148509165e+01
    f64.const -2.59193146099879641e+01
    f64.const 1.79258772950371181e-01
    f64.const 2.68067772490389322e-03
    f64.const 1.62824170038242295e-03
    f64.const -9.51592254519715870e-05
    f64.const 5.15138902046611451e-05
    call $body
    ;; total momentum, then the Sun's velocity = -momentum / solar mass
    loop $sum
      local.get $p
      f64.load offset=48
      local.set $m
      local.get $px
      local.get $p
      f64.load offset=24
      local.get $m
      f64.mul
      f64.add
      local.set $px
      local.get $py
      local.get $p
      f64.load offset=32
      local.get $m
      f64.mul
      f64.add
      local.set $py
      local.get $pz
      local.get $p
      f64.load offset=40
      local.get $m
      f64.mul
      f64.add
      local.set $pz
      local.get $p
      i32.const 56
      i32.add
      local.tee $p
      i32.const 280
      i32.lt_u
      br_if $sum
    end
    i32.const 0
    local.get $px
    f64.neg
    global.get $solar_mass
    f64.div
    f64.store offset=24
    i32.const 0
    local.get $py
    f64.neg
    global.get $solar_mass
    f64.div
    f64.store offset=32
    i32.const 0
    local.get $pz
    f64.neg
    global.get $solar_mass
    f64.div
    f64.store offset=40)

  ;; One step of length dt: pairwise velocity updates, then positions.
  (func $advance (param $dt f64)
    (local $i i32) (local $j i32)
    (local $dx f64) (local $dy f64) (local $dz f64) (local $d2 f64) (local $mag f64)
    (local $mi_mag f64) (local $mj_mag f64)
    loop $outer
      local.get $i
      i32.const 56
      i32.add
      local.set $j
      block $inner_done
        local.get $j
        i32.const 280
        i32.ge_u
        br_if $inner_done
        loop $inner
          local.get $i
          f64.load offset=0
          local.get $j
          f64.load offset=0
          f64.sub
          local.set $dx
          local.get $i
          f64.load offset=8
          local.get $j
          f64.load offset=8
          f64.sub
          local.set $dy
          local.get $i
          f64.load offset=16
          local.get $j
          f64.load offset=16
          f64.sub
          local.set $dz
          local.get $dx
          local.get $dx
          f64.mul
          local.get $dy
          local.get $dy
          f64.mul
          f64.add
          local.get $dz
          local.get $dz
          f64.mul
          f64.add
          local.set $d2
          ;; mag = dt / (d2 * sqrt(d2))
          local.get $dt
          local.get $d2
          local.get $d2
          f64.sqrt
          f64.mul
          f64.div
          local.set $mag
          local.get $i
          f64.load offset=48
          local.get $mag
          f64.mul
          local.set $mi_mag
          local.get $j
          f64.load offset=48
          local.get $mag
          f64.mul
          local.set $mj_mag
          ;; v_i -= d * m_j * mag; v_j += d * m_i * mag
          local.get $i
          local.get $i
          f64.load offset=24
          local.get $dx
          local.get $mj_mag
          f64.mul
          f64.sub
          f64.store offset=24
          local.get $i
          local.get $i
          f64.load offset=32
          local.get $dy
          local.get $mj_mag
          f64.mul
          f64.sub
          f64.store offset=32
          local.get $i
          local.get $i
          f64.load offset=40
          local.get $dz
          local.get $mj_mag
          f64.mul
          f64.sub
          f64.store offset=40
          local.get $j
          local.get $j
          f64.load offset=24
          local.get $dx
          local.get $mi_mag
          f64.mul
          f64.add
          f64.store offset=24
          local.get $j
          local.get $j
          f64.load offset=32
          local.get $dy
          local.get $mi_mag
          f64.mul
          f64.add
          f64.store offset=32
          local.get $j
          local.get $j
          f64.load offset=40
          local.get $dz
          local.get $mi_mag
          f64.mul
          f64.add
          f64.store offset=40
          local.get $j
          i32.const 56
          i32.add
          local.tee $j
          i32.const 280
          i32.lt_u
          br_if $inner
        end
      end
      local.get $i
      i32.const 56
      i32.add
      local.tee $i
      i32.const 280
      i32.lt_u
      br_if $outer
    end
    ;; x += dt * v
    i32.const 0
    local.set $i
    loop $move
      local.get $i
      local.get $i
      f64.load offset=0
      local.get $dt
      local.get $i
      f64.load offset=24
      f64.mul
      f64.add
      f64.store offset=0
      local.get $i
      local.get $i
      f64.load offset=8
      local.get $dt
      local.get $i
      f64.load offset=32
      f64.mul
      f64.add
      f64.store offset=8
      local.get $i
      local.get $i
      f64.load offset=16
      local.get $dt
      local.get $i
      f64.load offset=40
      f64.mul
      f64.add
      f64.store offset=16
      local.get $i
      i32.const 56
      i32.add
      local.tee $i
      i32.const 280
      i32.lt_u
      br_if $move
    end)

  ;; Kinetic minus potential energy.
  (func $energy (result f64)
    (local $i i32) (local $j i32) (local $e f64)
    (local $dx f64) (local $dy f64) (local $dz f64)
    loop $outer
      ;; e += 0.5 * m * |v|^2
      local.get $e
      f64.const 0.5
      local.get $i
      f64.load offset=48
      f64.mul
      local.get $i
      f64.load offset=24
      local.get $i
      f64.load offset=24
      f64.mul
      local.get $i
      f64.load offset=32
      local.get $i
      f64.load offset=32
      f64.mul
      f64.add
      local.get $i
      f64.load offset=40
      local.get $i
      f64.load offset=40
      f64.mul
      f64.add
      f64.mul
      f64.add
      local.set $e
      local.get $i
      i32.const 56
      i32.add
      local.set $j
      block $inner_done
        local.get $j
        i32.const 280
        i32.ge_u
        br_if $inner_done
        loop $inner
          ;; e -= m_i * m_j / |x_i - x_j|
          local.get $i
          f64.load offset=0
          local.get $j
          f64.load offset=0
          f64.sub
          local.set $dx
          local.get $i
          f64.load offset=8
          local.get $j
          f64.load offset=8
          f64.sub
          local.set $dy
          local.get $i
          f64.load offset=16
          local.get $j
          f64.load offset=16
          f64.sub
          local.set $dz
          local.get $e
          local.get $i
          f64.load offset=48
          local.get $j
          f64.load offset=48
          f64.mul
          local.get $dx
          local.get $dx
          f64.mul
          local.get $dy
          local.get $dy
          f64.mul
          f64.add
          local.get $dz
          local.get $dz
          f64.mul
          f64.add
          f64.sqrt
          f64.div
          f64.sub
          local.set $e
          local.get $j
          i32.const 56
          i32.add
          local.tee $j
          i32.const 280
          i32.lt_u
          br_if $inner
        end
      end
      local.get $i
      i32.const 56
      i32.add
      local.tee $i
      i32.const 280
      i32.lt_u
      br_if $outer
    end
    local.get $e)

  (func (export "run") (param $n i32) (result i64)
    (local $step i32)
    call $init
    block $done
      local.get $n
      i32.eqz
      br_if $done
      loop $steps
        f64.const 0.01
        call $advance
        local.get $step
        i32.const 1
        i32.add
        local.tee $step
        local.get $n
        i32.lt_u
        br_if $steps
      end
    end
    call $energy
    i64.reinterpret_f64))
