#include "backends/cpu/compiler/codegen.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "backends/cpu/compiler/kernel_tiers.h"
#include "backends/cpu/runtime/cpu_abi.h"
#include "backends/cpu/runtime/cpu_manifest.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "runtime/core/error.h"


namespace qwen3c::cpu {

namespace {

namespace fs = std::filesystem;
using Kind = Operand::Kind;

struct Target {
  std::unique_ptr<llvm::TargetMachine> machine;
  std::string triple;
  std::string cpu;
  std::string feature_string;
  std::vector<std::string> features;
};

Target make_target(const std::string& requested_cpu) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::InitializeNativeTargetAsmParser();  // the kernels' inline assembly
  Target t;
  t.triple = llvm::sys::getDefaultTargetTriple();
  std::string error;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(t.triple, error);
  if (target == nullptr) throw Error("CPU backend: no LLVM target for " + t.triple + ": " + error);
  if (requested_cpu.empty() || requested_cpu == "native") {
    t.cpu = llvm::sys::getHostCPUName().str();
    std::string features;
    for (const auto& [name, enabled] : llvm::sys::getHostCPUFeatures()) {
      features += (features.empty() ? "" : ",") + std::string(enabled ? "+" : "-") + name.str();
    }
    t.feature_string = features;
  } else {
    t.cpu = requested_cpu;
    // Validated before a target machine exists: LLVM aborts (not an error) when asked for
    // 64-bit code on a 32-bit CPU such as i386.
    std::unique_ptr<llvm::MCSubtargetInfo> probe(target->createMCSubtargetInfo(t.triple, t.cpu, ""));
    if (!probe || !probe->isCPUStringValid(t.cpu)) {
      throw Error("unknown CPU '" + t.cpu + "' for --cpu (try native, x86-64-v3, x86-64-v2 or a name such as znver3)");
    }
    if (!probe->checkFeatures("+64bit")) {
      throw Error("--cpu " + t.cpu + " is a 32-bit CPU; the CPU backend makes x86-64 code (try native, x86-64-v3 "
                  "or a name such as znver3)");
    }
  }
  llvm::TargetOptions options;
  t.machine.reset(target->createTargetMachine(t.triple, t.cpu, t.feature_string, options,
                                              llvm::Reloc::PIC_, std::nullopt,
                                              llvm::CodeGenOptLevel::Aggressive));
  if (!t.machine) throw Error("CPU backend: cannot create a target machine for '" + t.cpu + "'");
  const llvm::MCSubtargetInfo* info = t.machine->getMCSubtargetInfo();
  for (const llvm::SubtargetFeatureKV& kv : info->getAllProcessorFeatures()) {
    if (info->getFeatureBits().test(kv.Value)) t.features.push_back(kv.Key);
  }
  return t;
}

std::unique_ptr<llvm::Module> load_kernels(llvm::LLVMContext& context, const KernelTier& tier) {
  llvm::StringRef bytes(reinterpret_cast<const char*>(tier.bitcode), tier.bitcode_size);
  auto buffer = llvm::MemoryBuffer::getMemBuffer(bytes, "q3_cpu_kernels", false);
  auto module = llvm::parseBitcodeFile(buffer->getMemBufferRef(), context);
  if (!module) throw Error("CPU backend: cannot read the kernel library: " + llvm::toString(module.takeError()));
  return std::move(*module);
}

class ScheduleEmitter {
 public:
  ScheduleEmitter(llvm::Module& module) : module_(module), context_(module.getContext()), b_(context_) {}

  void emit(const Schedule& schedule) {
    auto* ptr = llvm::PointerType::get(context_, 0);
    auto* i64 = llvm::Type::getInt64Ty(context_);
    auto* fn_type = llvm::FunctionType::get(
        llvm::Type::getVoidTy(context_),
        {ptr, ptr, ptr, i64, ptr, ptr, ptr, i64, ptr, ptr, ptr, i64, i64, i64, ptr, ptr, ptr}, false);
    auto* fn = llvm::Function::Create(fn_type, llvm::Function::ExternalLinkage, kEntryPoint, module_);
    const char* names[] = {"weights", "k_cache", "v_cache",    "kv_type", "ids",     "positions",
                           "slots",   "tokens",  "arena",      "scratch", "logits",  "logit_rows",
                           "thread",  "threads", "barrier",    "barrier_context", "work"};
    for (unsigned i = 0; i < fn->arg_size(); ++i) {
      args_[names[i]] = fn->getArg(i);
      fn->getArg(i)->setName(names[i]);
    }
    b_.SetInsertPoint(llvm::BasicBlock::Create(context_, "entry", fn));
    // Every kernel's results are complete, on every thread, before the next kernel reads them.
    auto* barrier_type = llvm::FunctionType::get(llvm::Type::getVoidTy(context_), {ptr}, false);
    for (const KernelCall& call : schedule.calls) {
      emit_call(call);
      b_.CreateCall(barrier_type, args_["barrier"], {args_["barrier_context"]});
    }
    b_.CreateRetVoid();
  }

 private:
  llvm::Value* rows(bool tail) { return tail ? args_["logit_rows"] : args_["tokens"]; }

  // The value of a non-constant operand inside q3_forward.
  llvm::Value* runtime_value(const Operand& o, bool tail) {
    auto* f32 = llvm::Type::getFloatTy(context_);
    auto* ptr = llvm::PointerType::get(context_, 0);
    switch (o.kind) {
      case Kind::Buffer: {
        llvm::Value* index = b_.CreateMul(args_["tokens"], b_.getInt64(o.value));
        if (o.last_rows_only) {
          llvm::Value* skipped = b_.CreateSub(args_["tokens"], args_["logit_rows"]);
          index = b_.CreateAdd(index, b_.CreateMul(skipped, b_.getInt64(o.width)));
        }
        return b_.CreateInBoundsGEP(f32, args_["arena"], index);
      }
      case Kind::Weight:
        return b_.CreateLoad(ptr, b_.CreateInBoundsGEP(ptr, args_["weights"], b_.getInt64(o.value)));
      case Kind::KCache:
        return b_.CreateLoad(ptr, b_.CreateInBoundsGEP(ptr, args_["k_cache"], b_.getInt64(o.value)));
      case Kind::VCache:
        return b_.CreateLoad(ptr, b_.CreateInBoundsGEP(ptr, args_["v_cache"], b_.getInt64(o.value)));
      case Kind::KvType:
        return args_["kv_type"];
      case Kind::TokenIds:
        return args_["ids"];
      case Kind::Positions:
        return args_["positions"];
      case Kind::Scratch:
        return args_["scratch"];
      case Kind::Logits:
        return args_["logits"];
      case Kind::Rows:
        return o.value == 1 ? rows(tail) : b_.CreateMul(rows(tail), b_.getInt64(o.value));
      case Kind::Slots:
        return args_["slots"];
      case Kind::Thread:
        return args_["thread"];
      case Kind::Threads:
        return args_["threads"];
      case Kind::Barrier:
        return args_["barrier"];
      case Kind::BarrierContext:
        return args_["barrier_context"];
      case Kind::WorkCounter:
        return b_.CreateInBoundsGEP(llvm::Type::getInt64Ty(context_), args_["work"], b_.getInt64(o.value));
      case Kind::Int:
      case Kind::Float:
        break;
    }
    throw Error("CPU backend: constant operand used as a runtime value");
  }

  static bool is_constant(const Operand& o) { return o.kind == Kind::Int || o.kind == Kind::Float; }

  // One internal function per (kernel, constants): the kernel inlined with the model's
  // dimensions folded in, called from every site with the same shapes.
  llvm::Function* specialisation(const KernelCall& call) {
    std::string key = call.kernel;
    for (const Operand& o : call.args) {
      if (o.kind == Kind::Int) key += "_" + std::to_string(o.value);
      if (o.kind == Kind::Float) key += "_f" + std::to_string(o.real);
    }
    if (auto it = specialisations_.find(key); it != specialisations_.end()) return it->second;

    llvm::Function* kernel = module_.getFunction(call.kernel);
    if (kernel == nullptr || kernel->isDeclaration()) {
      throw Error("CPU backend: the kernel library has no " + call.kernel);
    }
    if (kernel->arg_size() != call.args.size()) {
      throw Error("CPU backend: " + call.kernel + " takes " + std::to_string(kernel->arg_size()) +
                  " arguments, the schedule passes " + std::to_string(call.args.size()));
    }
    kernel->addFnAttr(llvm::Attribute::AlwaysInline);
    std::vector<llvm::Type*> params;
    for (std::size_t i = 0; i < call.args.size(); ++i) {
      if (!is_constant(call.args[i])) params.push_back(kernel->getArg(i)->getType());
    }
    auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(context_), params, false);
    auto* fn = llvm::Function::Create(type, llvm::Function::InternalLinkage,
                                      "q3s." + std::to_string(specialisations_.size()) + "." + call.kernel, module_);
    fn->addFnAttr(llvm::Attribute::NoInline);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(context_, "entry", fn));
    std::vector<llvm::Value*> kernel_args;
    unsigned next = 0;
    for (std::size_t i = 0; i < call.args.size(); ++i) {
      const Operand& o = call.args[i];
      llvm::Type* param = kernel->getArg(i)->getType();
      if (o.kind == Kind::Int) kernel_args.push_back(llvm::ConstantInt::get(param, o.value));
      else if (o.kind == Kind::Float) kernel_args.push_back(llvm::ConstantFP::get(param, o.real));
      else kernel_args.push_back(fn->getArg(next++));
    }
    b.CreateCall(kernel, kernel_args);
    b.CreateRetVoid();
    specialisations_[key] = fn;
    return fn;
  }

  void emit_call(const KernelCall& call) {
    llvm::Function* fn = specialisation(call);
    std::vector<llvm::Value*> values;
    for (const Operand& o : call.args) {
      if (!is_constant(o)) values.push_back(runtime_value(o, call.tail));
    }
    b_.CreateCall(fn, values);
  }

  llvm::Module& module_;
  llvm::LLVMContext& context_;
  llvm::IRBuilder<> b_;
  std::map<std::string, llvm::Value*> args_;
  std::map<std::string, llvm::Function*> specialisations_;
};

// Facts about the target the kernels branch on, as constants the optimiser folds
// (kernels/packed_matmul.cpp declares them).
void define_target_constant(llvm::Module& module, const char* name, int32_t value) {
  auto* i32 = llvm::Type::getInt32Ty(module.getContext());
  auto* constant = llvm::ConstantInt::get(i32, value);
  llvm::GlobalVariable* g = module.getGlobalVariable(name);
  if (g == nullptr) {
    g = new llvm::GlobalVariable(module, i32, true, llvm::GlobalValue::InternalLinkage, constant, name);
  } else {
    g->setInitializer(constant);
    g->setConstant(true);
    g->setLinkage(llvm::GlobalValue::InternalLinkage);
  }
}
void define_target_constants(llvm::Module& module, const Target& target) {
  const bool amd = llvm::StringRef(target.cpu).starts_with("znver");
  define_target_constant(module, "q3k_target_prefers_bf16_dot", amd ? 1 : 0);
  define_target_constant(module, "q3k_target_prefetches_to_l2", amd ? 0 : 1);
}

void optimise(llvm::Module& module, llvm::TargetMachine& machine) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&machine);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(module, mam);
}

std::vector<std::uint8_t> emit_object(llvm::Module& module, llvm::TargetMachine& machine) {
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (machine.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    throw Error("CPU backend: LLVM cannot emit an object file for this target");
  }
  pm.run(module);
  return {buffer.begin(), buffer.end()};
}

std::vector<std::uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Links the object into a shared object with the system C compiler driver (it knows the
// platform's linker flags); QWEN3C_LINKER overrides which driver.
std::vector<std::uint8_t> link_shared_object(const std::vector<std::uint8_t>& object) {
  char pattern[] = "/tmp/qwen3c-link-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw Error("CPU backend: cannot create a temporary directory");
  const fs::path dir(pattern);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  const fs::path object_path = dir / "model.o", so_path = dir / "model.so", log_path = dir / "link.log";
  {
    std::ofstream out(object_path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(object.data()), static_cast<std::streamsize>(object.size()));
  }
  const char* driver = std::getenv("QWEN3C_LINKER");
  std::string linker = driver != nullptr && *driver != '\0' ? driver : "cc";
  std::vector<std::string> argv = {linker, "-shared", "-o", so_path.string(),
                                   object_path.string(), "-lm"};
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid;
  int rc = posix_spawnp(&pid, linker.c_str(), &actions, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error("CPU backend: cannot run the linker '" + linker + "' (install gcc, or set QWEN3C_LINKER)");
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream log(log_path);
    std::stringstream text;
    text << log.rdbuf();
    throw Error("CPU backend: linking the shared object failed:\n" + text.str());
  }
  return read_file(so_path);
}

}  // namespace

CompiledCode compile_schedule(const Schedule& schedule, const std::string& cpu, const std::string& fingerprint_text) {
  Target target = make_target(cpu);
  const KernelTier& tier = choose_kernel_tier(target.features);
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> module = load_kernels(context, tier);
  module->setTargetTriple(target.triple);
  module->setDataLayout(target.machine->createDataLayout());
  if (module->getPICLevel() == llvm::PICLevel::NotPIC) module->setPICLevel(llvm::PICLevel::BigPIC);

  ScheduleEmitter(*module).emit(schedule);
  define_target_constants(*module, target);
  auto* i64 = llvm::Type::getInt64Ty(context);
  new llvm::GlobalVariable(*module, i64, true, llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantInt::get(i64, code_fingerprint(fingerprint_text, tier.name, target.features)),
                           kCodeFingerprint);
  for (llvm::Function& fn : *module) {
    if (fn.isDeclaration()) continue;
    // Every function is compiled for the target (also needed for inlining across modules).
    fn.addFnAttr("target-cpu", target.cpu);
    if (!target.feature_string.empty()) fn.addFnAttr("target-features", target.feature_string);
    if (fn.getName() != kEntryPoint) fn.setLinkage(llvm::GlobalValue::InternalLinkage);
  }
  std::string errors;
  llvm::raw_string_ostream es(errors);
  if (llvm::verifyModule(*module, &es)) throw Error("CPU backend: generated invalid LLVM IR: " + errors);

  optimise(*module, *target.machine);
  CompiledCode code;
  code.shared_object = link_shared_object(emit_object(*module, *target.machine));
  code.cpu = target.cpu;
  code.features = target.features;
  code.kernel_tier = tier.name;
  return code;
}

}  // namespace qwen3c::cpu
